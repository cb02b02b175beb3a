"""Twilio delivery reports for our texts: status moves only forward, dead numbers are suppressed.

Each (MessageSid, status, ErrorCode) is recorded once in provider_events, so Twilio's
retries and duplicates change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import suppress
from nurture.deliverability.claim import claim_events
from nurture.messages.models import Message, MessageStatus, can_move
from nurture.replies import consent
from nurture.replies.sms_inbound import leads_at, phone_address

log = logging.getLogger(__name__)

PROVIDER = "twilio"
STATUSES = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
# Error codes that mean the number itself cannot take our texts (twilio.com/docs/api/errors).
DEAD_NUMBER = {
    "21211": "twilio 21211: not a valid phone number",
    "21614": "twilio 21614: not a mobile number",
    "30005": "twilio 30005: unknown destination handset (number no longer exists)",
    "30006": "twilio 30006: landline or unreachable carrier",
}
# 30003 "unreachable destination handset" is usually a phone that is off or out of
# coverage: the number is suppressed only after this many in a row.
UNREACHABLE = "30003"


@dataclass(frozen=True, slots=True)
class StatusReport:
    sid: str
    status: str
    error_code: str = ""
    to: str = ""


def apply_status(session: Session, settings: Settings, report: StatusReport, now: datetime) -> bool:
    """Apply one delivery report; False when it was seen before (and changed nothing)."""
    status = report.status.strip().lower()
    code = report.error_code.strip()
    message = session.scalars(
        select(Message).where(Message.provider_id == report.sid, Message.channel == Channel.SMS)
    ).first()
    new = STATUSES.get(status)
    event = {
        "provider": PROVIDER,
        "event_id": f"{report.sid}:{status}:{code}"[:100],
        "event_type": status[:40] or "unknown",
        "message_id": message.id if message else None,
        "ignored": None if message and new else ("unknown message" if new else "unhandled status"),
        "occurred_at": None,
        "received_at": now,
    }
    if not claim_events(session, [event]):
        return False
    if message is not None and new is not None and can_move(message.status, new):
        message.status, message.updated_at = new, now
        if new is MessageStatus.DELIVERED:
            message.delivered_at = now
        elif new is MessageStatus.FAILED:
            message.reason = f"twilio {status}" + (f" (error {code})" if code else "")
    number = phone_address(report.to) if report.to else None
    if number and code:
        _suppress_dead_number(session, settings, number, code, now)
    log.info("twilio status %s for message %s", status, message.ref if message else "unknown")
    return True


def _suppress_dead_number(
    session: Session, settings: Settings, number: str, code: str, now: datetime
) -> None:
    if code == "21610":
        # The carrier saw the person's STOP: the same as a STOP we heard ourselves.
        lead_ids = [lead.id for lead in leads_at(session, number)]
        if lead_ids:
            consent.stop(session, lead_ids, Channel.SMS, "twilio:21610", now)
        suppress(session, Channel.SMS, number, consent.CARRIER_STOP, now)
    elif code in DEAD_NUMBER:
        suppress(session, Channel.SMS, number, DEAD_NUMBER[code], now)
    elif code == UNREACHABLE and _unreachable_in_a_row(session, number, settings.soft_bounce_limit):
        suppress(
            session,
            Channel.SMS,
            number,
            f"twilio 30003: unreachable {settings.soft_bounce_limit} times in a row",
            now,
        )


def _unreachable_in_a_row(session: Session, number: str, limit: int) -> bool:
    lead_ids = [lead.id for lead in leads_at(session, number)]
    if not lead_ids:
        return False
    session.flush()
    reasons = session.scalars(
        select(Message.reason)
        .where(
            Message.lead_id.in_(lead_ids),
            Message.channel == Channel.SMS,
            Message.provider_id.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return len(reasons) == limit and all(f"error {UNREACHABLE}" in (r or "") for r in reasons)
