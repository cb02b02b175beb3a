"""The pages behind the links messages carry: booking, unsubscribe and preferences."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.booking.service import book_screening
from nurture.config import Settings
from nurture.consent.ledger import Evidence, current_consent, revoke
from nurture.consent.models import Channel
from nurture.leads.models import Lead
from nurture.links import InvalidToken, TokenPurpose, read_token
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter()

CHANNEL_NAMES = {Channel.EMAIL: "emails", Channel.SMS: "text messages"}


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


def _described(channels: list[Channel]) -> str:
    return " and ".join(CHANNEL_NAMES[channel] for channel in channels)


@router.get("/book/{token}")
def booking_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """The free-screening request page."""
    lead, _ = lead_from_token(session, settings, "book", token)
    return render(request, "book.html", {"first_name": lead.first_name, "token": token})


@router.post("/book/{token}")
def request_booking(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Record the screening request (once) and end the lead's sequences."""
    with session.begin():
        lead, _ = lead_from_token(session, settings, "book", token)
        book_screening(session, lead.id, source="booking-link", now=clock.now())
    log.info("lead %s requested a screening via booking-link", lead.public_id)
    return render(request, "booked.html", {"first_name": lead.first_name})


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
    """Which messages the lead still receives, with a box to stop each."""
    lead, _ = lead_from_token(session, settings, "unsubscribe", token)
    consent = current_consent(session, lead.id)
    return render(request, "preferences.html", _preferences(token, consent, saved=None))


@router.post("/preferences/{token}")
def save_preferences(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    stop_email: Annotated[str, Form()] = "",
    stop_sms: Annotated[str, Form()] = "",
) -> Response:
    """Stop the ticked channels."""
    chosen = [c for c, ticked in ((Channel.EMAIL, stop_email), (Channel.SMS, stop_sms)) if ticked]
    with session.begin():
        lead, _ = lead_from_token(session, settings, "unsubscribe", token)
        evidence = request_evidence(request, "preferences-page")
        stopped = stop_channels(session, lead, chosen, evidence, clock.now())
        consent = current_consent(session, lead.id)
    return render(request, "preferences.html", _preferences(token, consent, saved=stopped))


def _preferences(
    token: str, consent: dict[Channel, bool], saved: list[Channel] | None
) -> dict[str, object]:
    return {
        "token": token,
        "receiving": {channel.value: consent[channel] for channel in Channel},
        "names": {channel.value: CHANNEL_NAMES[channel] for channel in Channel},
        "saved": None if saved is None else _described(saved),
    }
