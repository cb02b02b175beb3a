"""A reply written by staff from the inbox, queued for the workers to send.

An answer to someone who wrote to us is transactional, but the console still offers
only channels the person can be reached on and has not opted out of: no SMS without
SMS consent, no email after an unsubscribe, nothing to a suppressed address. The gate
checks the same again at send time (and holds a text until the lead's waking hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import latest_action, suppression_reason
from nurture.consent.models import ConsentAction
from nurture.leads.models import Lead
from nurture.messages.segments import count_segments
from nurture.messages.transactional import EmailContent, Notice, queue_notice
from nurture.replies.texts import as_html

KIND = "staff-reply"
SMS_MAX_SEGMENTS = 3
EMAIL_MAX_CHARS = 5000


class ReplyProblem(ValueError):
    """The reply cannot be sent as written; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True, slots=True)
class ReplyChannel:
    """A channel the reply form lists, and why it cannot be used, if it cannot."""

    channel: Channel
    address: str | None
    refusal: str | None

    @property
    def usable(self) -> bool:
        """Whether a reply may go this way."""
        return self.refusal is None


def _refusal(session: Session, lead: Lead, channel: Channel, address: str | None) -> str | None:
    if not address:
        return f"no {_name(channel)} address on file"
    suppressed = suppression_reason(session, channel, address)
    if suppressed:
        return f"the {_name(channel)} address is suppressed ({suppressed})"
    action = session.scalar(select(latest_action(lead.id, channel)))
    if action == ConsentAction.REVOKED:
        return f"opted out of {_name(channel)}"
    # A text needs SMS consent even as an answer; an email answers the person who wrote.
    if channel is Channel.SMS and action != ConsentAction.GRANTED:
        return "no SMS consent on file"
    return None


def _name(channel: Channel) -> str:
    return "SMS" if channel is Channel.SMS else "email"


def reply_channels(session: Session, lead: Lead) -> list[ReplyChannel]:
    """Both channels, each with the lead's address and the reason it is closed, if it is."""
    return [
        ReplyChannel(channel, address, _refusal(session, lead, channel, address))
        for channel, address in ((Channel.SMS, lead.phone), (Channel.EMAIL, lead.email))
    ]


def check_reply(channels: list[ReplyChannel], channel: str, body: str) -> tuple[Channel, str]:
    """The chosen channel and the text to send; ReplyProblem naming the field if not."""
    chosen = next((c for c in channels if c.channel.value == channel), None)
    if chosen is None:
        raise ReplyProblem("channel", "choose SMS or email.")
    if chosen.refusal is not None:
        raise ReplyProblem("channel", f"cannot reply by {_name(chosen.channel)}: {chosen.refusal}.")
    text = body.strip().replace("\r\n", "\n")
    if not text:
        raise ReplyProblem("body", "write a reply before sending.")
    if chosen.channel is Channel.SMS:
        count = count_segments(text)
        if count.segments > SMS_MAX_SEGMENTS:
            raise ReplyProblem(
                "body",
                f"this text is {count.segments} SMS segments ({count.units} {count.encoding} "
                f"characters); keep it to {SMS_MAX_SEGMENTS} segments or reply by email.",
            )
    elif len(text) > EMAIL_MAX_CHARS:
        raise ReplyProblem(
            "body", f"{len(text)} characters is too long; keep an email to {EMAIL_MAX_CHARS}."
        )
    return chosen.channel, text


def queue_staff_reply(
    session: Session,
    settings: Settings,
    lead: Lead,
    channel: Channel,
    text: str,
    *,
    key: str,
    now: datetime,
) -> int | None:
    """Queue the reply (due now); None when this form's reply (`key`) was queued before."""
    notice = Notice(lead.id, KIND, f"{KIND}:{lead.id}:{key}"[:160], now)
    if channel is Channel.SMS:
        return queue_notice(session, notice, text, now)
    subject = f"Re: your message to {settings.clinic_name}"
    return queue_notice(session, notice, EmailContent(subject, text, as_html(text)), now)
