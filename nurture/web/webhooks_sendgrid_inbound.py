"""SendGrid Inbound Parse: POST /webhooks/sendgrid/inbound, one multipart post per email.

SendGrid signs nothing here, so the Parse URL carries HTTP Basic credentials
(https://user:password@host/webhooks/sendgrid/inbound). They are checked before the
body is read; without them configured every post is refused. SendGrid retries a 5xx
for three days: a 200 means "recorded" (a duplicate Message-ID is recorded already).
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from nurture.config import Settings
from nurture.replies.email_inbound import (
    EmailOutcome,
    MalformedEmail,
    parse_inbound,
    receive_email,
)
from nurture.web.deps import ClockDep, SettingsDep, get_session_factory
from nurture.web.metrics import count_refusal

log = logging.getLogger(__name__)
router = APIRouter()

REALM = 'Basic realm="sendgrid-inbound", charset="UTF-8"'


def authorised(settings: Settings, header: str | None) -> bool:
    """Whether the Authorization header has the configured inbound credentials."""
    user, password = settings.sendgrid_inbound_user, settings.sendgrid_inbound_password
    if not (user and password and header):
        return False
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    given_user, colon, given_password = given.partition(b":")
    # Both compared, always: how far a guess got must not show in the timing.
    user_ok = secrets.compare_digest(given_user, user.encode())
    password_ok = secrets.compare_digest(given_password, password.encode())
    return bool(colon) and user_ok and password_ok


@router.post("/webhooks/sendgrid/inbound")
async def sendgrid_inbound(
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Record an inbound email once and act on it; its answer is queued, not sent here."""
    if not authorised(settings, request.headers.get("authorization")):
        log.warning("refused an inbound email post: missing or wrong credentials")
        count_refusal(request, "sendgrid-inbound", "credentials")
        return JSONResponse(
            {"error": "authentication required"},
            status_code=401,
            headers={"WWW-Authenticate": REALM},
        )
    form = await request.form()
    try:
        # A NUL cannot be stored as text and means nothing in an email: it is dropped.
        fields = {
            name.replace("\x00", ""): value.replace("\x00", "")
            for name, value in form.multi_items()
            if isinstance(value, str)
        }
    finally:
        await form.close()
    try:
        email = parse_inbound(fields)
    except MalformedEmail as exc:
        count_refusal(request, "sendgrid-inbound", "malformed")
        return JSONResponse(
            {"errors": [{"field": exc.field, "message": exc.message}]}, status_code=400
        )

    def handle() -> EmailOutcome:
        with factory.begin() as session:
            return receive_email(session, settings, email, clock.now())

    outcome = await run_in_threadpool(handle)
    return JSONResponse(
        {
            "duplicate": outcome.duplicate,
            "intent": outcome.intent.value if outcome.intent else None,
        }
    )
