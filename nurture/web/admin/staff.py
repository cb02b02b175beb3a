"""Console pages: staff accounts and the audit log (admin only).

Admins create accounts, change roles, disable, enable and reset passwords; each change
is audited by nurture.staff.service, which also refuses an admin locking themselves out.
URLs name accounts by id, never by email address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.locations.directory import Locations, staff_scope
from nurture.staff.audit_log import PER_PAGE, AuditFilter, audit_actions, audit_entries
from nurture.staff.models import Role, StaffUser
from nurture.staff.service import (
    Actor,
    StaffError,
    change_role,
    create_user,
    reset_password,
    set_disabled,
)
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import StaffAdmin, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
PAGE = "/admin/staff"
ROLES = [role.value for role in Role]
FIELDS = {"email": "Email address", "name": "Name", "role": "Role", "password": "Password"}
Text = Annotated[str, Form(max_length=1000)]
V = TypeVar("V")
# The staff services that change one account: (session, user id, new value, now, actor).
AccountService = Callable[[Session, int, V, datetime, Actor], StaffUser]


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _accounts_page(
    request: Request,
    user: StaffUser,
    session: SessionDep,
    zone: ZoneInfo,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    account_problem: str | None = None,
    status_code: int = 200,
) -> Response:
    accounts = session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    locations = Locations.load(session)
    context = {
        "accounts": [
            {
                "account": account,
                "created": _local(account.created_at, zone),
                # Whose inbox and bookings they see (nurture locations limit-staff).
                "locations": ", ".join(
                    locations.get(place).slug for place in staff_scope(account.location_ids) or []
                )
                or "all",
            }
            for account in accounts
        ],
        "many_locations": len(locations) > 1,
        "roles": ROLES,
        "typed": {"email": "", "name": "", "role": Role.MARKETING.value, **(typed or {})},
        "problems": problems or {},
        "problem_list": [f"{FIELDS[name]}: {text}" for name, text in (problems or {}).items()],
        "account_problem": account_problem,
    }
    return admin_page(request, user, "staff/list.html", context, status_code, section="staff")


@router.get("/staff")
def accounts(
    request: Request, user: StaffAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """Every staff account, with forms to add one and change each."""
    return _accounts_page(request, user, session, settings.clinic_zone)


@router.post("/staff")
def create_account(
    request: Request,
    user: StaffAdmin,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    email: Text = "",
    name: Text = "",
    role: Text = "",
    password: Text = "",
) -> Response:
    """Add an account; problems are shown by field with what was typed (but the password)."""
    try:
        created = create_user(
            session, email, role, password, clock.now(), actor(request, user), name=name
        )
    except StaffError as exc:
        session.rollback()
        typed = {"email": email, "name": name, "role": role}
        problems = exc.problems or {"email": str(exc)}
        return _accounts_page(
            request,
            user,
            session,
            settings.clinic_zone,
            typed=typed,
            problems=problems,
            status_code=422,
        )
    session.commit()
    return redirect_with_notice(request, PAGE, f"Added {created.email} as {created.role}.")


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An admin's request to change one account, with what it needs to answer."""

    request: Request
    user_id: int
    user: StaffUser
    session: Session
    now: datetime
    zone: ZoneInfo

    def run(
        self, change: AccountService[V], value: V, done: Callable[[StaffUser], str]
    ) -> Response:
        """Make the change: commit and say so, or show the page with the reason."""
        who = actor(self.request, self.user)
        try:
            account = change(self.session, self.user_id, value, self.now, who)
        except StaffError as exc:
            self.session.rollback()
            return _accounts_page(
                self.request,
                self.user,
                self.session,
                self.zone,
                account_problem=str(exc),
                status_code=422,
            )
        self.session.commit()
        return redirect_with_notice(self.request, PAGE, done(account))


def _account_change(
    request: Request,
    user_id: int,
    user: StaffAdmin,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AccountChange:
    return AccountChange(request, user_id, user, session, clock.now(), settings.clinic_zone)


Change = Annotated[AccountChange, Depends(_account_change)]


@router.post("/staff/{user_id}/disable")
def disable(change: Change) -> Response:
    """Disable an account: it is signed out at its next request."""
    return change.run(set_disabled, True, lambda account: f"Disabled {account.email}.")


@router.post("/staff/{user_id}/enable")
def enable(change: Change) -> Response:
    """Let a disabled account sign in again."""
    return change.run(set_disabled, False, lambda account: f"Enabled {account.email}.")


@router.post("/staff/{user_id}/role")
def set_role(change: Change, role: Text = "") -> Response:
    """Give an account another role."""
    return change.run(
        change_role, role, lambda account: f"{account.email} now has the role {account.role}."
    )


@router.post("/staff/{user_id}/password")
def new_password(change: Change, password: Text = "") -> Response:
    """Set a new password for an account (tell its owner in person, not by email)."""
    return change.run(
        reset_password, password, lambda account: f"Set a new password for {account.email}."
    )


def _int(value: str | None, default: int | None) -> int | None:
    return int(value) if value and value.isdigit() else default


@router.get("/staff/audit")
def audit_log(
    request: Request,
    user: StaffAdmin,
    session: SessionDep,
    settings: SettingsDep,
    actor_id: Annotated[str | None, Query(alias="actor")] = None,
    action: str | None = None,
    page: str | None = None,
) -> Response:
    """The audit log, newest first, filtered by who acted and what they did."""
    chosen = AuditFilter(_int(actor_id, None), (action or "").strip()[:60] or None)
    number = max(_int(page, 1) or 1, 1)
    entries, total = audit_entries(session, chosen, number)
    query = {"actor": chosen.actor_id or "", "action": chosen.action or ""}
    zone = settings.clinic_zone
    context = {
        "entries": [{"entry": entry, "at": _local(entry.at, zone)} for entry in entries],
        "staff": session.scalars(select(StaffUser).order_by(StaffUser.email)).all(),
        "actions": audit_actions(session),
        "chosen": chosen,
        "page": AuditPage(number, total, query),
    }
    return admin_page(request, user, "staff/audit.html", context, section="staff")


class AuditPage:
    """The pager's view of the audit log: the links keep the filters."""

    def __init__(self, number: int, total: int, query: dict[str, Any]) -> None:
        self.number, self.total = number, total
        self.pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
        self._query = {key: value for key, value in query.items() if value}

    def url(self, number: int) -> str:
        """The link to page `number` with the same filters."""
        return "/admin/staff/audit?" + urlencode({**self._query, "page": number})
