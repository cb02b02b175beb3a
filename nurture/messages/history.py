"""What each lead of a delivery batch did with their earlier steps (nurture.campaigns.
conditions.History), read in four set-based queries whatever the batch's size: their
messages, first opens (SendGrid's open events), first clicks (our short links, or
SendGrid's click events for an email without them) and first replies since enrolling.

An open or click counted on a message with no event time (counters set by an import)
is taken to have happened when the message was sent, so it still counts "within" any
window."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from nurture.campaigns.conditions import History, StepRecord
from nurture.db import one_of
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message, MessageStatus
from nurture.messages.short_links import ShortLink
from nurture.replies.models import InboundMessage
from nurture.sequences.models import Enrollment

# A goto is followed, and a step counts as sent, once a provider was (or may have been)
# given its message; one still being handed off is not sent yet.
SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNKNOWN)


def _first(session: Session, ids: list[int], kind: str) -> dict[int, datetime]:
    """The first applied SendGrid event of `kind` of each message (a click counted by
    our short link is recorded, ignored, and read from the link instead)."""
    if not ids:
        return {}
    query = (
        select(
            ProviderEvent.message_id,
            func.min(func.coalesce(ProviderEvent.occurred_at, ProviderEvent.received_at)),
        )
        .where(
            ProviderEvent.event_type == kind,
            ProviderEvent.ignored.is_(None),
            one_of(session, ProviderEvent.message_id, ids),
        )
        .group_by(ProviderEvent.message_id)
    )
    return {message_id: at for message_id, at in session.execute(query) if message_id is not None}


def load_histories(session: Session, enrollment_ids: Collection[int]) -> dict[int, History]:
    """Each enrollment's history, by enrollment id."""
    if not enrollment_ids:
        return {}
    enrollments: dict[int, datetime] = {
        enrollment_id: enrolled_at
        for enrollment_id, enrolled_at in session.execute(
            select(Enrollment.id, Enrollment.enrolled_at).where(
                one_of(session, Enrollment.id, enrollment_ids)
            )
        )
    }
    rows = session.execute(
        select(
            Message.id,
            Message.enrollment_id,
            Message.step_key,
            Message.status,
            func.coalesce(Message.sent_at, Message.handed_off_at),
            Message.opens,
            Message.clicks,
        ).where(one_of(session, Message.enrollment_id, enrollment_ids))
    ).all()
    sent = [row[0] for row in rows if row[3] in SENT]
    opened = _first(session, sent, "open")
    clicked = _first(session, sent, "click")
    if sent:
        short = select(ShortLink.message_id, func.min(ShortLink.first_clicked_at)).where(
            one_of(session, ShortLink.message_id, sent), ShortLink.first_clicked_at.is_not(None)
        )
        for message_id, at in session.execute(short.group_by(ShortLink.message_id)):
            if at is not None:
                clicked[message_id] = min(at, clicked.get(message_id, at))
    replied: dict[int, datetime] = {
        enrollment_id: at
        for enrollment_id, at in session.execute(
            select(Enrollment.id, func.min(InboundMessage.received_at))
            .join(
                InboundMessage,
                and_(
                    InboundMessage.lead_id == Enrollment.lead_id,
                    InboundMessage.received_at >= Enrollment.enrolled_at,
                ),
            )
            .where(one_of(session, Enrollment.id, enrollment_ids))
            .group_by(Enrollment.id)
        )
    }
    steps: dict[int, dict[str, StepRecord]] = {}
    for message_id, enrollment_id, key, status, at, opens, clicks in rows:
        if enrollment_id is None:
            continue
        record = StepRecord()
        if status in SENT and at is not None:
            record = StepRecord(
                at,
                # A click on an email's link opens it, images shown or not.
                opened.get(message_id)
                or clicked.get(message_id)
                or (at if opens or clicks else None),
                clicked.get(message_id) or (at if clicks else None),
            )
        steps.setdefault(enrollment_id, {})[key] = record
    return {
        enrollment_id: History(
            enrolled_at, steps.get(enrollment_id, {}), replied.get(enrollment_id)
        )
        for enrollment_id, enrolled_at in enrollments.items()
    }
