"""An inbound text: recorded once, matched to leads by number, read and answered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.leads.submission import normalise_phone
from nurture.locations.directory import Locations, overlay
from nurture.replies.conversation import Answer, Conversation, Speaker
from nurture.replies.inbound import note_answer, record_inbound
from nurture.replies.inbox import open_item
from nurture.replies.intent import Context, Intent, classify
from nurture.replies.models import InboundMessage
from nurture.replies.texts import reply_text

log = logging.getLogger(__name__)

PROVIDER = "twilio"
# Twilio's own limit for one message body; anything longer is cut for storage.
MAX_BODY = 1600
# Twilio Advanced Opt-Out names the keyword class it matched (and answered itself).
OPT_OUT_TYPES = {"STOP": Intent.STOP, "START": Intent.START, "HELP": Intent.HELP}


@dataclass(frozen=True, slots=True)
class InboundSms:
    sid: str
    sender: str
    body: str
    opt_out_type: str = ""
    to: str = ""  # the number texted: which location's front desk it reaches


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    duplicate: bool
    intent: Intent | None = None
    reply: str | None = None


def phone_address(sender: str) -> str:
    """The sender as E.164 when it is a phone number (short codes stay as sent)."""
    try:
        return normalise_phone(sender)
    except ValueError:
        return sender.strip()


def leads_at(session: Session, phone: str) -> list[Lead]:
    """Every lead with this number, newest first (the one a conversation is with)."""
    return list(
        session.scalars(
            select(Lead).where(Lead.phone == phone).order_by(Lead.created_at.desc(), Lead.id.desc())
        )
    )


def receive_sms(session: Session, settings: Settings, sms: InboundSms, now: datetime) -> SmsOutcome:
    """Handle one inbound text; a repeated MessageSid changes nothing and gets no answer."""
    address = phone_address(sms.sender)
    inbound_id = record_inbound(
        session,
        provider=PROVIDER,
        provider_id=sms.sid,
        channel=Channel.SMS,
        sender=address,
        body=sms.body,
        limit=MAX_BODY,
        now=now,
    )
    if inbound_id is None:
        log.info("inbound text %s seen before: ignored", sms.sid)
        return SmsOutcome(duplicate=True)
    text = sms.body[:MAX_BODY]
    forced = OPT_OUT_TYPES.get(sms.opt_out_type.strip().upper())
    leads = leads_at(session, address)
    if leads:
        speaker = Speaker(leads[0], tuple(lead.id for lead in leads), address, Channel.SMS)
        answer = Conversation(session, settings, speaker, now).answer(text, forced)
        log.info("text from lead %s: %s", leads[0].public_id, answer.intent.value)
    else:
        # Someone we do not know is answered by, and queued for, the location texted.
        texted = Locations.load(session).for_number(phone_address(sms.to) if sms.to else None)
        if texted is not None:
            settings = overlay(settings, texted)
        location_id = texted.id if texted is not None else None
        answer = answer_stranger(session, settings, address, text, forced, now, location_id)
        log.info("text from an unknown number: %s", answer.intent.value)
    # Under Advanced Opt-Out Twilio has already confirmed its keyword: say nothing more.
    reply = None if forced else answer.text
    note_answer(session, inbound_id, leads[0].id if leads else None, answer, reply)
    return SmsOutcome(duplicate=False, intent=answer.intent, reply=reply)


def answer_stranger(
    session: Session,
    settings: Settings,
    address: str,
    text: str,
    forced: Intent | None,
    now: datetime,
    location_id: int | None = None,
) -> Answer:
    """A number that is no lead's: keywords are honoured, anything else goes to staff."""
    intent = forced or classify(text, Context(now, settings.clinic_zone)).intent
    if intent is Intent.STOP:
        # Nothing to revoke; confirm once, not again for a repeated STOP.
        return Answer(intent, None if _stopped_before(session, address) else _say(settings, "stop"))
    if intent is Intent.HELP:
        return Answer(intent, _say(settings, "help"))
    if intent is Intent.START:
        return Answer(intent)  # nobody to subscribe: they never agreed to our texts
    item, created = open_item(
        session,
        lead_id=None,
        sender=address,
        channel=Channel.SMS,
        reason="unknown sender",
        now=now,
        location_id=location_id,
    )
    return Answer(Intent.OTHER, _say(settings, "unknown_sender") if created else None, item.id)


def _say(settings: Settings, name: str) -> str:
    return reply_text(settings, name, Channel.SMS.value)


def _stopped_before(session: Session, address: str) -> bool:
    last = session.scalar(
        select(InboundMessage.intent)
        .where(
            InboundMessage.sender == address,
            InboundMessage.channel == Channel.SMS,
            InboundMessage.intent.in_([Intent.STOP, Intent.START]),
        )
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )
    return last == Intent.STOP
