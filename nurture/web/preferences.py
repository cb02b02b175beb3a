"""The pages behind the links messages carry: unsubscribe and preferences, in the lead's
language."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.booking.display import when
from nurture.channel import Channel
from nurture.consent.ledger import current_consent
from nurture.consent.preferences import (
    lead_from_token,
    pause_campaigns,
    stop_channels,
    token_channels,
)
from nurture.languages import NAMES as LANGUAGE_NAMES
from nurture.languages import UnknownLanguage
from nurture.leads.actions import set_language
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.i18n import N_, use_language
from nurture.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter()

CHANNEL_NAMES = {Channel.EMAIL: N_("emails"), Channel.SMS: N_("text messages")}
# Whole phrases, so each language joins the names its own way.
BOTH_CHANNELS = N_("emails and text messages")
UNKNOWN_LANGUAGE = N_("Language: choose English or Español.")
# The language's name inside a sentence ("… in English", "… en español").
IN_SENTENCE = {"en": N_("English"), "es": N_("Spanish")}


def _described(channels: list[Channel]) -> str:
    if len(channels) > 1:
        return BOTH_CHANNELS
    return "".join(CHANNEL_NAMES[channel] for channel in channels)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Ask to confirm; opening the link (or a mail scanner fetching it) changes nothing."""
    lead, payload = lead_from_token(session, settings, "unsubscribe", token)
    use_language(request, lead.language)
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
    use_language(request, lead.language)
    return render(request, "unsubscribed.html", {"channels": _described(channels)})


@router.get("/preferences/{token}")
def preferences_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """Which messages the lead still receives, with a box to stop each or pause all."""
    lead, _ = lead_from_token(session, settings, "unsubscribe", token)
    use_language(request, lead.language)
    consent = current_consent(session, lead.id)
    return render(request, "preferences.html", _preferences(token, consent, lead.language))


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
    language: Annotated[str, Form(max_length=35)] = "",
) -> Response:
    """Stop the ticked channels; pause the others for 30 days when asked; write to the
    lead in the language they chose."""
    chosen = [c for c, ticked in ((Channel.EMAIL, stop_email), (Channel.SMS, stop_sms)) if ticked]
    now = clock.now()
    try:
        with session.begin():
            lead, _ = lead_from_token(session, settings, "unsubscribe", token)
            # First: a language we do not write in rolls the whole form back.
            switched = bool(language) and set_language(session, lead.id, language)
            stopped, consent, paused_until = _apply(session, request, lead, chosen, pause, now)
    except UnknownLanguage:
        lead, _ = lead_from_token(session, settings, "unsubscribe", token)
        use_language(request, lead.language)
        context = _preferences(token, current_consent(session, lead.id), lead.language)
        context["problem"] = UNKNOWN_LANGUAGE
        return render(request, "preferences.html", context, 422)
    # The page answers in the language just chosen.
    use_language(request, lead.language)
    zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
    resume = when(paused_until, zone, lead.language).day if paused_until else None
    saved = {
        "stopped": _described(stopped),
        "resume": resume,
        "language": IN_SENTENCE[language] if switched else None,
    }
    context = _preferences(token, consent, lead.language, saved)
    return render(request, "preferences.html", context)


def _apply(
    session: Session,
    request: Request,
    lead: Lead,
    chosen: list[Channel],
    pause: str,
    now: datetime,
) -> tuple[list[Channel], dict[Channel, bool], datetime | None]:
    """Stop the chosen channels and pause the rest when asked: what was stopped, the
    consent now in force, and when a pause ends."""
    evidence = request_evidence(request, "preferences-page")
    stopped = stop_channels(session, lead, chosen, evidence, now)
    consent = current_consent(session, lead.id)
    paused_until = None
    receiving = [channel for channel in Channel if consent[channel]]
    if pause and receiving:
        paused_until = pause_campaigns(session, lead.id, receiving, now)
        log.info("lead %s paused campaign messages via preferences-page", lead.public_id)
    return stopped, consent, paused_until


def _preferences(
    token: str,
    consent: dict[Channel, bool],
    language: str,
    saved: dict[str, str | None] | None = None,
) -> dict[str, object]:
    return {
        "token": token,
        "receiving": {channel.value: consent[channel] for channel in Channel},
        "names": {channel.value: CHANNEL_NAMES[channel] for channel in Channel},
        "saved": saved,
        "language": language,
        "languages": LANGUAGE_NAMES,
        "problem": None,
    }
