"""SendGrid's signed Event Webhook: POST /webhooks/sendgrid/events.

Refusals are plain JSON, never a page: the caller is SendGrid, which retries a
non-2xx post for a while. A 403 or 400 changes nothing; a 200 means "recorded".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse

from nurture.clock import utcnow
from nurture.deliverability.apply import apply_events
from nurture.deliverability.events import MalformedBatch, parse_batch
from nurture.deliverability.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRejected,
    UnusableKey,
    verify_event_signature,
)
from nurture.web.deps import ClockDep, SettingsDep, get_session_factory
from nurture.web.metrics import count_refusal

log = logging.getLogger(__name__)
router = APIRouter()


async def raw_body(request: Request) -> bytes:
    """The exact bytes SendGrid signed."""
    return await request.body()


def wall_clock() -> datetime:
    """Real time: SendGrid signs with its own clock, even when ours runs accelerated."""
    return utcnow()


def refused(reason: str) -> JSONResponse:
    """The 403 every unverified post gets."""
    return JSONResponse({"error": f"unverified event post: {reason}"}, status_code=403)


@router.post("/webhooks/sendgrid/events")
def sendgrid_events(
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    clock: ClockDep,
    settings: SettingsDep,
    real_now: Annotated[datetime, Depends(wall_clock)],
) -> JSONResponse:
    """Verify, dedupe and apply a batch of email events; 200 once recorded."""
    try:
        verify_event_signature(
            settings.sendgrid_webhook_public_key,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            real_now,
            timedelta(seconds=settings.sendgrid_webhook_max_age_seconds),
        )
    except UnusableKey as exc:
        log.error(
            "refused a SendGrid event post: %s; set SENDGRID_WEBHOOK_PUBLIC_KEY to the "
            "verification key shown in SendGrid's Event Webhook settings",
            exc.reason,
        )
        count_refusal(request, "sendgrid-events", "no-key")
        return refused("the receiver has no usable verification key")
    except SignatureRejected as exc:
        log.warning("refused a SendGrid event post: %s", exc.reason)
        count_refusal(request, "sendgrid-events", "signature")
        return refused(exc.reason)
    try:
        batch = parse_batch(body)
    except MalformedBatch as exc:
        log.warning("refused a SendGrid event post: %s", exc)
        count_refusal(request, "sendgrid-events", "malformed")
        return JSONResponse({"errors": [{"field": "body", "message": str(exc)}]}, 400)
    with factory.begin() as session:
        report = apply_events(session, batch.events, clock.now(), settings)
    received = report.received + len(batch.rejected)
    log.info(
        "SendGrid events: %d received, %d applied, %d duplicate, %d ignored, %d unusable",
        received,
        report.applied,
        report.duplicates,
        report.ignored,
        len(batch.rejected),
    )
    return JSONResponse(
        {
            "received": received,
            "applied": report.applied,
            "duplicates": report.duplicates,
            "ignored": report.ignored,
            "rejected": [
                {"index": r.index, "field": r.field, "message": r.message} for r in batch.rejected
            ],
        }
    )
