"""What a rehearsed lead's replies led to, as the database and the outbox folder record it:
bookings, the notices that went out (with their .eml files), and consent changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.leads.admin import bookings
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.messages.models import Message, MessageKind


@dataclass(frozen=True, slots=True)
class BookingRecord:
    starts_at: datetime | None
    ends_at: datetime | None
    status: str
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """One transactional message: a booking confirmation, reminder or front-desk note."""

    kind: str
    channel: str
    status: str
    at: datetime  # sent, or due when not sent
    summary: str | None
    reason: str | None
    to: str | None  # set when it went to someone other than the lead (the front desk)
    file: Path | None  # the console channel's .eml, when there is one
    attachments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConsentChange:
    channel: str
    action: str
    source: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Aftermath:
    zone: ZoneInfo  # the lead's, for showing the times above
    bookings: list[BookingRecord]
    notices: list[NoticeRecord]
    consent_changes: list[ConsentChange]  # after sign-up


def attachment_names(eml: Path) -> tuple[str, ...]:
    """The file names of an .eml file's attachments."""
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    return tuple(part.get_filename() or "(unnamed)" for part in message.iter_attachments())


def _notice(message: Message, outbox_dir: Path) -> NoticeRecord:
    eml = outbox_dir / f"{message.ref}.eml"
    found = eml if message.channel == "email" and eml.is_file() else None
    to = (message.content or {}).get("to")
    return NoticeRecord(
        kind=message.step_key,
        channel=message.channel,
        status=message.status,
        at=message.sent_at or message.due_at,
        summary=message.summary,
        reason=message.reason,
        to=to if isinstance(to, str) and to else None,
        file=found,
        attachments=attachment_names(found) if found else (),
    )


def aftermath(session: Session, settings: Settings, lead: Lead) -> Aftermath:
    """The lead's bookings, notices and consent changes after sign-up, oldest first."""
    notices = session.scalars(
        select(Message)
        .where(Message.lead_id == lead.id, Message.kind == MessageKind.TRANSACTIONAL)
        .order_by(Message.due_at, Message.id)
    )
    changes = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.lead_id == lead.id, ConsentEvent.occurred_at > lead.created_at)
        .order_by(ConsentEvent.id)
    )
    return Aftermath(
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        bookings=[
            BookingRecord(b.starts_at, b.ends_at, b.status, b.source, b.created_at)
            for b in bookings(session, lead.id)
        ],
        notices=[_notice(m, settings.outbox_dir) for m in notices],
        consent_changes=[
            ConsentChange(e.channel, e.action, e.source, e.occurred_at) for e in changes
        ],
    )
