"""Creating staff accounts, signing in (with a failure limit), and recording the audit log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from nurture.leads.submission import normalise_email
from nurture.staff.models import AuditEntry, Role, StaffUser
from nurture.staff.passwords import check_strength, hash_password, needs_rehash, verify_password

# Five wrong passwords for one address from one IP lock that pair out for 15 minutes;
# twenty from one IP, across addresses, lock the IP out (a walk through staff emails).
MAX_FAILURES = 5
MAX_FAILURES_PER_IP = 20
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


def _failures(session: Session, since: datetime, *where: Any) -> int:
    query = select(func.count()).select_from(AuditEntry)
    conditions = (AuditEntry.action == "login.failed", AuditEntry.at > since, *where)
    return session.scalar(query.where(*conditions)) or 0


def _locked_out(session: Session, address: str, ip: str | None, since: datetime) -> bool:
    """Too many failures in the window: for this address from this IP (since its last
    success), or from this IP across every address."""
    same_ip = AuditEntry.ip.is_(None) if ip is None else AuditEntry.ip == ip
    last_success = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.action == "login", AuditEntry.target == address, same_ip
        )
    )
    pair_since = max(since, last_success) if last_success is not None else since
    return (
        _failures(session, pair_since, AuditEntry.target == address, same_ip) >= MAX_FAILURES
        or _failures(session, since, same_ip) >= MAX_FAILURES_PER_IP
    )


def _one_attempt_at_a_time(session: Session, ip: str | None) -> None:
    """Hold this IP's sign-in attempts in line until the transaction ends.

    Counting failures and recording one must not interleave with another attempt from
    the same IP, or forty parallel guesses all read "four so far". PostgreSQL takes a
    transaction-scoped advisory lock per IP; SQLite's transactions already take the
    write lock up front (BEGIN IMMEDIATE), which serialises them.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"nurture-login:{ip}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def authenticate(
    session: Session,
    email: str,
    password: str,
    ip: str | None,
    now: datetime,
    time_scale: float = 1.0,
) -> StaffUser | None:
    """The account if the password is right; every attempt is audited (the caller commits).

    Raises TooManyAttempts, without checking the password, once this address has failed
    MAX_FAILURES times from this IP within FAILURE_WINDOW, or the IP MAX_FAILURES_PER_IP
    times across addresses. The window is real time: on a clock running `time_scale`
    times faster it spans that many more virtual minutes.
    """
    address = _address_for_audit(email)
    _one_attempt_at_a_time(session, ip)
    if _locked_out(session, address, ip, now - FAILURE_WINDOW * time_scale):
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
