"""Console pages: the inbox of replies a person must answer, a reply form, and resolving.

Replies are written as outbox rows for the workers to send; the page never sends.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from nurture.booking.display import when
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.locations.directory import in_scope, staff_scope
from nurture.replies.inbox import resolve_inbox_item
from nurture.replies.inbox_view import conversation, item_sender, open_count, open_items
from nurture.replies.models import InboxItem, InboxStatus
from nurture.replies.staff_reply import (
    SMS_MAX_SEGMENTS,
    ReplyProblem,
    check_reply,
    queue_staff_reply,
    reply_channels,
)
from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import InboxUser, RowId, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
PER_PAGE = 50
_REPLY_KEY = re.compile(r"^[0-9a-f]{32}$")
FIELD_LABELS = {"channel": "Send by", "body": "Reply"}


@dataclass(frozen=True, slots=True)
class Pages:
    """The pager macro's view of a paginated list."""

    number: int
    pages: int
    total: int
    base: str

    def url(self, number: int) -> str:
        """The address of page `number`."""
        return f"{self.base}?page={number}"


def _label(settings: Settings, moment: datetime) -> str:
    return when(moment, settings.clinic_zone).short


@router.get("/inbox")
def inbox(
    request: Request,
    user: InboxUser,
    session: SessionDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Open items that need a person, the newest message first."""
    scope = staff_scope(user.location_ids)
    total = open_count(session, scope)
    last = max(1, -(-total // PER_PAGE))
    pages = Pages(min(page, last), last, total, "/admin/inbox")
    offset = (pages.number - 1) * PER_PAGE
    rows = open_items(session, offset=offset, limit=PER_PAGE, location_ids=scope)
    context = {"rows": rows, "page": pages, "label": lambda m: _label(settings, m)}
    return admin_page(request, user, "inbox/list.html", context, section="inbox")


def _item(session: Session, item_id: int, user: StaffUser) -> tuple[InboxItem, Lead | None]:
    item = session.get(InboxItem, item_id)
    # Another clinic's item is as absent as a missing one to a desk limited to its own.
    if item is None or not in_scope(staff_scope(user.location_ids), item.location_id):
        raise HTTPException(404, "There is no such inbox item")
    lead = session.get(Lead, item.lead_id) if item.lead_id is not None else None
    return item, lead


@dataclass
class ReplyForm:
    """What the staff typed (kept when the form comes back with a problem)."""

    channel: str = ""
    body: str = ""
    resolve: bool = False
    outcome: str = "resume"
    key: str = ""


def _item_page(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    item: InboxItem,
    lead: Lead | None,
    form: ReplyForm | None = None,
    problem: ReplyProblem | None = None,
    status_code: int = 200,
) -> Response:
    channels = reply_channels(session, lead) if lead is not None else []
    if form is None:
        usable = [c.channel.value for c in channels if c.usable]
        preferred = item.channel if item.channel in usable else (usable[0] if usable else "")
        form = ReplyForm(channel=preferred, key=secrets.token_hex(16))
    said = conversation(session, item)
    context = {
        "item": item,
        "lead": lead,
        "sender": item_sender(session, item),
        "said": said,
        "channels": channels,
        "form": form,
        "problem": problem,
        "problems": [f"{FIELD_LABELS[problem.field]}: {problem.message}"] if problem else [],
        "sms_max_segments": SMS_MAX_SEGMENTS,
        "label": lambda m: _label(settings, m),
        "open": item.status == InboxStatus.OPEN,
    }
    return admin_page(request, user, "inbox/item.html", context, status_code, section="inbox")


@router.get("/inbox/{item_id}")
def inbox_item(
    request: Request, item_id: RowId, user: InboxUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The conversation with the sender, a reply form and the resolve buttons."""
    item, lead = _item(session, item_id, user)
    return _item_page(request, user, session, settings, item, lead)


def _staff_name(user: StaffUser) -> str:
    return user.name or user.email


@router.post("/inbox/{item_id}/reply")
def reply(
    request: Request,
    item_id: RowId,
    user: InboxUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    # No length limits here: check_reply explains a text that is too long, a 422 would not.
    channel: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    reply_key: Annotated[str, Form()] = "",
    resolve: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "resume",
) -> Response:
    """Queue the reply for the workers; resolve the item too when asked."""
    item, lead = _item(session, item_id, user)
    if lead is None:
        raise HTTPException(409, "This sender is not a lead: answer them from your own mailbox")
    key = reply_key if _REPLY_KEY.match(reply_key) else secrets.token_hex(16)
    form = ReplyForm(channel, body, bool(resolve), "end" if outcome == "end" else "resume", key)
    try:
        chosen, text = check_reply(reply_channels(session, lead), channel, body)
    except ReplyProblem as problem:
        return _item_page(request, user, session, settings, item, lead, form, problem, 400)
    now = clock.now()
    queued = queue_staff_reply(session, settings, lead, chosen, text, key=key, now=now)
    if queued is None:
        return redirect_with_notice(
            request, f"/admin/inbox/{item.id}", "That reply was already queued."
        )
    record_audit(
        session, actor(request, user), "inbox.replied", now, str(item.id), {"channel": chosen.value}
    )
    notice = f"Reply queued to go by {'SMS' if chosen.value == 'sms' else 'email'}."
    target = f"/admin/inbox/{item.id}"
    if form.resolve and item.status == InboxStatus.OPEN:
        notice += " " + _resolve(
            request, user, session, item, resume=form.outcome == "resume", now=now
        )
        target = "/admin/inbox"
    session.commit()
    return redirect_with_notice(request, target, notice)


def _resolve(
    request: Request,
    user: StaffUser,
    session: Session,
    item: InboxItem,
    *,
    resume: bool,
    now: datetime,
) -> str:
    resolve_inbox_item(session, item.id, resume=resume, staff=_staff_name(user), now=now)
    record_audit(
        session, actor(request, user), "inbox.resolved", now, str(item.id), {"resume": resume}
    )
    return "Resolved; the sequence resumes." if resume else "Resolved; the sequence has ended."


@router.post("/inbox/{item_id}/resolve")
def resolve_item(
    request: Request,
    item_id: RowId,
    user: InboxUser,
    session: SessionDep,
    clock: ClockDep,
    outcome: Annotated[str, Form()] = "",
) -> Response:
    """Close the item and resume or end the lead's sequence."""
    item, _ = _item(session, item_id, user)
    if outcome not in ("resume", "end"):
        return redirect_with_notice(request, f"/admin/inbox/{item.id}", "Choose resume or end.")
    if item.status != InboxStatus.OPEN:
        return redirect_with_notice(request, "/admin/inbox", "That item was already resolved.")
    notice = _resolve(request, user, session, item, resume=outcome == "resume", now=clock.now())
    session.commit()
    return redirect_with_notice(request, "/admin/inbox", notice)
