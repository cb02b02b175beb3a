"""Console page: outbound webhook endpoints and their delivery log (admin only).

Admins add an endpoint (its signing secret is shown on the answer to that one post,
never again), switch it off and on, remove it, and retry a delivery that was given up.
Each change is audited; the log shows no payload, so no personal data beyond a lead id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import RowId, WebhooksUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep
from nurture.webhooks_out.delivery_log import NotRetryable, delivery_log, retry_now
from nurture.webhooks_out.endpoints import (
    ALL_EVENTS,
    EndpointError,
    UnknownEndpoint,
    add_endpoint,
    list_endpoints,
    remove_endpoint,
    set_enabled,
)
from nurture.webhooks_out.models import WebhookEndpoint

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
PAGE = "/admin/webhooks"
FIELDS = {"url": "Endpoint URL", "events": "Events"}
LOG_ROWS = 100
# Generous: an over-long URL is refused by the check that names the field, not by the parser.
Url = Annotated[str, Form(max_length=8000)]
Events = Annotated[list[str], Form(max_length=100)]


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""


def _page(
    request: Request,
    user: StaffUser,
    session: Session,
    zone: ZoneInfo,
    *,
    typed: Mapping[str, object] | None = None,
    problems: dict[str, str] | None = None,
    new_secret: tuple[WebhookEndpoint, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "endpoints": list_endpoints(session),
        "deliveries": [
            {
                "line": line,
                "occurred": _local(line.occurred_at, zone),
                "next": _local(line.next_attempt_at, zone),
            }
            for line in delivery_log(session, limit=LOG_ROWS)
        ],
        "all_events": ALL_EVENTS,
        "typed": {"url": "", "events": list(ALL_EVENTS), **(typed or {})},
        "problems": problems or {},
        "problem_list": [f"{FIELDS[name]}: {text}" for name, text in (problems or {}).items()],
        "new_secret": new_secret,
    }
    return admin_page(request, user, "webhooks/page.html", context, status_code, section="webhooks")


@router.get("/webhooks")
def webhooks_page(
    request: Request, user: WebhooksUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The endpoints, a form to add one, and the latest deliveries."""
    return _page(request, user, session, settings.clinic_zone)


@router.post("/webhooks")
def add(
    request: Request,
    user: WebhooksUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    url: Url = "",
    events: Events = [],  # noqa: B006 - FastAPI copies form defaults
) -> Response:
    """Add an endpoint and show its secret this once; a problem is shown by its field."""
    now = clock.now()
    try:
        endpoint, secret = add_endpoint(session, url, events, now, app_secret=settings.secret_key)
    except EndpointError as exc:
        session.rollback()
        typed = {"url": url, "events": [event for event in events if event in ALL_EVENTS]}
        return _page(
            request,
            user,
            session,
            settings.clinic_zone,
            typed=typed,
            problems={exc.field: str(exc)},
            status_code=422,
        )
    record_audit(session, actor(request, user), "webhook.added", now, f"webhook:{endpoint.id}")
    session.commit()
    return _page(request, user, session, settings.clinic_zone, new_secret=(endpoint, secret))


def _change(
    request: Request, user: StaffUser, session: Session, action: str, target: str, now: datetime
) -> None:
    record_audit(session, actor(request, user), action, now, target)
    session.commit()


@router.post("/webhooks/{endpoint_id}/disable")
def disable(
    request: Request, endpoint_id: RowId, user: WebhooksUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Stop sending to an endpoint; what it is owed waits until it is enabled again."""
    return _switch(request, endpoint_id, user, session, clock.now(), enabled=False)


@router.post("/webhooks/{endpoint_id}/enable")
def enable(
    request: Request, endpoint_id: RowId, user: WebhooksUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Send to an endpoint again, starting with what waited while it was off."""
    return _switch(request, endpoint_id, user, session, clock.now(), enabled=True)


def _switch(
    request: Request,
    endpoint_id: int,
    user: StaffUser,
    session: Session,
    now: datetime,
    *,
    enabled: bool,
) -> Response:
    try:
        set_enabled(session, endpoint_id, enabled)
    except UnknownEndpoint as exc:
        return redirect_with_notice(request, PAGE, str(exc).capitalize() + ".")
    word = "enabled" if enabled else "disabled"
    _change(request, user, session, f"webhook.{word}", f"webhook:{endpoint_id}", now)
    return redirect_with_notice(request, PAGE, f"Endpoint {endpoint_id} {word}.")


@router.post("/webhooks/{endpoint_id}/remove")
def remove(
    request: Request, endpoint_id: RowId, user: WebhooksUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Remove an endpoint, with its delivery log and anything it was still owed."""
    try:
        remove_endpoint(session, endpoint_id)
    except UnknownEndpoint as exc:
        return redirect_with_notice(request, PAGE, str(exc).capitalize() + ".")
    _change(request, user, session, "webhook.removed", f"webhook:{endpoint_id}", clock.now())
    return redirect_with_notice(request, PAGE, f"Endpoint {endpoint_id} removed.")


@router.post("/webhooks/deliveries/{delivery_id}/retry")
def retry(
    request: Request, delivery_id: RowId, user: WebhooksUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Try a given-up delivery once more, at the next pass."""
    now = clock.now()
    try:
        retry_now(session, delivery_id, now)
    except NotRetryable as exc:
        session.rollback()
        return redirect_with_notice(request, PAGE, str(exc).capitalize() + ".")
    _change(request, user, session, "webhook.retried", f"webhook-delivery:{delivery_id}", now)
    return redirect_with_notice(request, PAGE, f"Delivery {delivery_id} will be tried again now.")
