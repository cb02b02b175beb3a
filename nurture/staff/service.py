"""Creating staff accounts, signing in (with a failure limit), and recording the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.leads.submission import normalise_email
from nurture.staff.models import AuditEntry, Role, StaffUser
from nurture.staff.passwords import check_strength, hash_password, needs_rehash, verify_password

# Five wrong passwords for one address from one IP lock that pair out for 15 minutes.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


class StaffError(ValueError):
    """A staff account request that cannot be carried out; the message says why.

    `problems` names the form field each reason belongs to, for pages that show them.
    """

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this address from this IP; try again later."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something, as the audit log records it."""

    name: str  # the staff email, "cli:<os user>" or "anonymous"
    id: int | None = None
    ip: str | None = None

    @classmethod
    def of(cls, user: StaffUser, ip: str | None = None) -> Actor:
        """The signed-in staff member."""
        return cls(user.email, user.id, ip)


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (the caller commits)."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor=actor.name[:320],
        action=action,
        target=target[:320],
        detail=detail or {},
        ip=actor.ip,
        at=now,
    )
    session.add(entry)
    return entry


def parse_role(value: str) -> Role:
    """The role named `value`, or StaffError listing the roles there are."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise StaffError(f"unknown role {value!r}: choose one of {roles}") from None


def find_user(session: Session, email: str) -> StaffUser | None:
    """The account with this email address, if any."""
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    return session.scalar(select(StaffUser).where(StaffUser.email == address))


def new_account_problems(session: Session, email: str, role: str, password: str) -> dict[str, str]:
    """What stops this account from being created, by field (email, role, password)."""
    problems: dict[str, str] = {}
    try:
        address = normalise_email(email)
    except ValueError as exc:
        problems["email"] = f"{email!r} is not an email address: {exc}"
    else:
        if session.scalar(select(StaffUser.id).where(StaffUser.email == address)) is not None:
            problems["email"] = f"a staff account for {address} already exists"
    try:
        parse_role(role)
    except StaffError as exc:
        problems["role"] = str(exc)
    try:
        check_strength(password)
    except ValueError as exc:
        problems["password"] = str(exc)
    return problems


def create_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    now: datetime,
    actor: Actor,
    name: str = "",
) -> StaffUser:
    """A new account, with the creation in the audit log; StaffError when it cannot be."""
    problems = new_account_problems(session, email, role, password)
    if problems:
        raise StaffError("; ".join(problems.values()), problems)
    address, chosen = normalise_email(email), parse_role(role)
    user = StaffUser(
        email=address,
        name=name.strip()[:100],
        role=chosen.value,
        password_hash=hash_password(password),
        created_at=now,
        disabled=False,
    )
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.created", now, address, {"role": chosen.value})
    return user


def _address_for_audit(email: str) -> str:
    """The address as accounts store it, or as typed when it is not an address at all."""
    try:
        return normalise_email(email)
    except ValueError:
        return email.strip().lower()[:320]


def _recent_failures(session: Session, address: str, ip: str | None, now: datetime) -> int:
    """Failed sign-ins for this address from this IP in the window, since its last success."""
    same_pair = (
        AuditEntry.target == address,
        AuditEntry.ip.is_(None) if ip is None else AuditEntry.ip == ip,
    )
    last_success = session.scalar(
        select(func.max(AuditEntry.at)).where(AuditEntry.action == "login", *same_pair)
    )
    since = now - FAILURE_WINDOW
    if last_success is not None and last_success > since:
        since = last_success
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "login.failed", AuditEntry.at > since, *same_pair)
        )
        or 0
    )


def authenticate(
    session: Session, email: str, password: str, ip: str | None, now: datetime
) -> StaffUser | None:
    """The account if the password is right; every attempt is audited (the caller commits).

    Raises TooManyAttempts, without checking the password, once this address has
    failed MAX_FAILURES times from this IP within FAILURE_WINDOW.
    """
    address = _address_for_audit(email)
    if _recent_failures(session, address, ip, now) >= MAX_FAILURES:
        raise TooManyAttempts
    user = session.scalar(select(StaffUser).where(StaffUser.email == address))
    # verify_password checks a dummy hash for unknown addresses: equal timing, no hints.
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        reason = "disabled" if user is not None and ok else "wrong email or password"
        record_audit(
            session, Actor("anonymous", ip=ip), "login.failed", now, address, {"reason": reason}
        )
        return None
    if needs_rehash(user.password_hash):
        # Stored hashes follow argon2-cffi's parameters as they are raised over time.
        user.password_hash = hash_password(password)
    record_audit(session, Actor.of(user, ip), "login", now, address)
    return user


def _account(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError(f"there is no staff account {user_id}")
    return user


def end_sessions(user: StaffUser) -> None:
    """Sign the account out everywhere: cookies issued before now stop working."""
    user.session_epoch += 1


def account_target(user: StaffUser) -> str:
    """How the audit log names an account an action was done to (an id, not an address)."""
    return f"staff:{user.id}"


def set_disabled(
    session: Session, user_id: int, disabled: bool, now: datetime, actor: Actor
) -> StaffUser:
    """Disable (signed out at the next request) or re-enable an account, audited.

    Nobody may disable themselves: a clinic must never lock out its last admin by accident.
    """
    user = _account(session, user_id)
    if disabled and actor.id == user.id:
        raise StaffError("you cannot disable your own account; ask another admin")
    if user.disabled != disabled:
        user.disabled = disabled
        action = "user.disabled" if disabled else "user.enabled"
        record_audit(session, actor, action, now, account_target(user))
    return user


def change_role(
    session: Session, user_id: int, role: str, now: datetime, actor: Actor
) -> StaffUser:
    """Give an account another role, audited; an admin cannot demote themselves."""
    user = _account(session, user_id)
    chosen = parse_role(role)
    if actor.id == user.id and chosen is not Role.ADMIN:
        raise StaffError("you cannot take the admin role from yourself; ask another admin")
    if user.role != chosen.value:
        detail = {"old": user.role, "new": chosen.value}
        user.role = chosen.value
        record_audit(session, actor, "user.role_changed", now, account_target(user), detail)
    return user


def reset_password(
    session: Session, user_id: int, password: str, now: datetime, actor: Actor
) -> StaffUser:
    """Set a new password (the same strength rule as at creation), audited."""
    user = _account(session, user_id)
    try:
        check_strength(password)
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    user.password_hash = hash_password(password)
    end_sessions(user)  # whoever knew the old password is signed out
    record_audit(session, actor, "user.password_reset", now, account_target(user))
    return user
