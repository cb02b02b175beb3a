"""The pages behind the links messages carry: unsubscribe and preferences."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.booking.display import when
from nurture.config import Settings
from nurture.consent.ledger import Evidence, current_consent, revoke
from nurture.consent.models import Channel
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.links import InvalidToken, TokenPurpose, read_token
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter()

CHANNEL_NAMES = {Channel.EMAIL: "emails", Channel.SMS: "text messages"}
PAUSE = timedelta(days=30)
PAUSE_REASON = "paused by the lead for 30 days"
# Staff-paused sequences move too: resuming one later must not send the step at once.
RUNNING = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


def lead_from_token(
    session: Session, settings: Settings, purpose: TokenPurpose, token: str
) -> tuple[Lead, dict[str, str]]:
    """The lead a signed link was made for, with the token's payload, or InvalidToken."""
    payload = read_token(settings, purpose, token)
    lead = session.scalars(
        select(Lead).where(Lead.public_id == payload.get("lead", ""))
    ).one_or_none()
    if lead is None:
        raise InvalidToken("this link is not valid")
    return lead, payload


def token_channels(payload: dict[str, str]) -> list[Channel]:
    """The channels an unsubscribe token covers ("all" is both)."""
    value = payload.get("channel", "")
    if value == "all":
        return list(Channel)
    try:
        return [Channel(value)]
    except ValueError:
        raise InvalidToken("this link is not valid") from None


def stop_channels(
    session: Session, lead: Lead, channels: list[Channel], evidence: Evidence, now: datetime
) -> list[Channel]:
    """Revoke consent on each channel that still has it; returns the ones revoked now."""
    consent = current_consent(session, lead.id)
    # Already off means nothing to record: a second click adds no ledger row.
    stopped = [channel for channel in channels if consent[channel]]
    for channel in stopped:
        revoke(session, lead.id, channel, evidence, now)
        log.info("lead %s stopped %s via %s", lead.public_id, channel.value, evidence.source)
    return stopped


def pause_campaigns(
    session: Session, lead_id: int, channels: list[Channel], now: datetime
) -> datetime:
    """Hold the lead's campaign messages for 30 days, consent untouched; returns the end.

    Campaign messages already queued or held on `channels` wait until then: the
    dispatcher releases them and the gate looks at them afresh. Each sequence's next
    step moves by the whole pause, not just to its end, so it still follows the step
    released then instead of overtaking it. Notices the lead asked for (a booking
    confirmation, a reminder) are not campaign messages and still go.
    """
    until = now + PAUSE
    enrollments = session.scalars(
        select(Enrollment).where(
            Enrollment.lead_id == lead_id,
            Enrollment.status.in_(RUNNING),
            Enrollment.next_due_at.is_not(None),
        )
    )
    for enrollment in enrollments:
        if enrollment.next_due_at is not None:
            enrollment.next_due_at = max(enrollment.next_due_at, now) + PAUSE
    # A queued message's delivery task may already be on its way: it claims only
    # queued rows, so once held here the worker leaves it alone.
    session.execute(
        update(Message)
        .where(
            Message.lead_id == lead_id,
            Message.kind == MessageKind.CAMPAIGN,
            Message.channel.in_(channels),
            Message.status.in_((MessageStatus.QUEUED, MessageStatus.HELD)),
        )
        .values(status=MessageStatus.HELD, due_at=until, reason=PAUSE_REASON, updated_at=now)
    )
    return until


def _described(channels: list[Channel]) -> str:
    return " and ".join(CHANNEL_NAMES[channel] for channel in channels)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Ask to confirm; opening the link (or a mail scanner fetching it) changes nothing."""
    _, payload = lead_from_token(session, settings, "unsubscribe", token)
    channels = _described(token_channels(payload))
    return render(request, "unsubscribe.html", {"channels": channels, "token": token})


@router.post("/unsubscribe/{token}")
def unsubscribe(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Stop the link's channel; also the RFC 8058 one-click POST, which needs no form."""
    with session.begin():
        lead, payload = lead_from_token(session, settings, "unsubscribe", token)
        channels = token_channels(payload)
        evidence = request_evidence(request, "unsubscribe-link")
        stop_channels(session, lead, channels, evidence, clock.now())
    return render(request, "unsubscribed.html", {"channels": _described(channels)})


@router.get("/preferences/{token}")
def preferences_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Which messages the lead still receives, with a box to stop each or pause all."""
    lead, _ = lead_from_token(session, settings, "unsubscribe", token)
    consent = current_consent(session, lead.id)
    return render(request, "preferences.html", _preferences(token, consent))


@router.post("/preferences/{token}")
def save_preferences(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    stop_email: Annotated[str, Form()] = "",
    stop_sms: Annotated[str, Form()] = "",
    pause: Annotated[str, Form()] = "",
) -> Response:
    """Stop the ticked channels; pause the others for 30 days when asked."""
    chosen = [c for c, ticked in ((Channel.EMAIL, stop_email), (Channel.SMS, stop_sms)) if ticked]
    now = clock.now()
    with session.begin():
        lead, _ = lead_from_token(session, settings, "unsubscribe", token)
        evidence = request_evidence(request, "preferences-page")
        stopped = stop_channels(session, lead, chosen, evidence, now)
        consent = current_consent(session, lead.id)
        paused_until = None
        receiving = [channel for channel in Channel if consent[channel]]
        if pause and receiving:
            paused_until = pause_campaigns(session, lead.id, receiving, now)
            log.info("lead %s paused campaign messages via preferences-page", lead.public_id)
        zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
    resume = when(paused_until, zone).day if paused_until else None
    saved = {"stopped": _described(stopped), "resume": resume}
    return render(request, "preferences.html", _preferences(token, consent, saved))


def _preferences(
    token: str, consent: dict[Channel, bool], saved: dict[str, str | None] | None = None
) -> dict[str, object]:
    return {
        "token": token,
        "receiving": {channel.value: consent[channel] for channel in Channel},
        "names": {channel.value: CHANNEL_NAMES[channel] for channel in Channel},
        "saved": saved,
    }
