"""The staff inbox: replies a person must answer, and the sequences waiting on them.

While a lead has an open item its active enrollments are paused (the dispatcher
claims only active ones and the gate holds a paused enrollment's messages). Staff
resolve the item and either resume the sequence or end it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import EXIT_REASON
from nurture.locations.directory import place_of_lead
from nurture.locations.models import DEFAULT_LOCATION_ID
from nurture.replies.models import InboundMessage, InboxItem, InboxKind, InboxStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus

log = logging.getLogger(__name__)


class UnknownInboxItem(LookupError):
    """No inbox item has this id."""


def open_item(
    session: Session,
    *,
    lead_id: int | None,
    sender: str,
    channel: str,
    reason: str,
    now: datetime,
    location_id: int | None = None,
    kind: InboxKind = InboxKind.REPLY,
) -> tuple[InboxItem, bool]:
    """The open item for this lead (or unknown sender), created if needed; and whether new.

    One open item per person: a second question joins the first instead of opening
    another (and getting another acknowledgement).
    """
    query = select(InboxItem).where(InboxItem.status == InboxStatus.OPEN)
    if lead_id is not None:
        query = query.where(InboxItem.lead_id == lead_id)
    else:
        query = query.where(
            InboxItem.lead_id.is_(None),
            exists().where(
                InboundMessage.inbox_item_id == InboxItem.id, InboundMessage.sender == sender
            ),
        )
    item = session.scalars(query.order_by(InboxItem.id)).first()
    if item is not None:
        item.last_message_at = now
        return item, False
    if location_id is None:
        # A lead's front desk is their location's; a stranger's, the one they texted.
        location_id = place_of_lead(session, lead_id).id if lead_id else DEFAULT_LOCATION_ID
    item = InboxItem(
        lead_id=lead_id,
        location_id=location_id,
        channel=channel,
        reason=reason[:60],
        kind=kind,
        status=InboxStatus.OPEN,
        opened_at=now,
        last_message_at=now,
    )
    session.add(item)
    session.flush()
    return item, True


def pause_sequences(session: Session, lead_id: int) -> int:
    """Pause the lead's active enrollments until staff answer; returns how many."""
    paused = session.scalars(
        update(Enrollment)
        .where(Enrollment.lead_id == lead_id, Enrollment.status == EnrollmentStatus.ACTIVE)
        .values(status=EnrollmentStatus.PAUSED)
        .returning(Enrollment.id)
    ).all()
    return len(paused)


def _paused(session: Session, lead_id: int) -> list[Enrollment]:
    return list(
        session.scalars(
            select(Enrollment).where(
                Enrollment.lead_id == lead_id, Enrollment.status == EnrollmentStatus.PAUSED
            )
        )
    )


def resume_sequences(session: Session, lead_id: int, now: datetime) -> int:
    """Resume the lead's paused enrollments; returns how many.

    A step not yet due keeps its time; one that fell due while paused is due now.
    """
    paused = _paused(session, lead_id)
    for enrollment in paused:
        enrollment.status = EnrollmentStatus.ACTIVE
        if enrollment.next_due_at is not None:
            enrollment.next_due_at = max(enrollment.next_due_at, now)
    return len(paused)


def resolve_inbox_item(
    session: Session, item_id: int, *, resume: bool, staff: str, now: datetime
) -> InboxItem:
    """Close an item; resume the lead's paused sequences, or end them.

    Sequences stay paused while another item of the same lead is still open, and a
    lead who booked meanwhile is not resumed: the booking is the campaign's goal.
    Resolving twice changes nothing.
    """
    item = session.get(InboxItem, item_id, with_for_update=True)
    if item is None:
        raise UnknownInboxItem(f"no inbox item {item_id}")
    if item.status == InboxStatus.RESOLVED:
        return item
    item.status = InboxStatus.RESOLVED
    item.resolved_at, item.resolved_by = now, staff[:100]
    item.resolution = "resumed" if resume else "ended"
    session.flush()
    if item.lead_id is not None:
        _settle_sequences(session, item.lead_id, resume=resume, staff=staff, now=now)
    log.info("inbox item %s resolved (%s)", item.id, item.resolution)
    return item


def _settle_sequences(
    session: Session, lead_id: int, *, resume: bool, staff: str, now: datetime
) -> None:
    booked = session.scalar(
        select(
            exists().where(Booking.lead_id == lead_id, Booking.status != BookingStatus.CANCELLED)
        )
    )
    still_open = session.scalar(
        select(exists().where(InboxItem.lead_id == lead_id, InboxItem.status == InboxStatus.OPEN))
    )
    if resume and still_open and not booked:
        return
    if resume and not booked:
        resume_sequences(session, lead_id, now)
        return
    for enrollment in _paused(session, lead_id):
        enrollment.status = EnrollmentStatus.EXITED
        enrollment.next_step_key, enrollment.next_due_at = None, None
        enrollment.ended_at = now
        enrollment.end_reason = EXIT_REASON if booked else f"ended by {staff[:60]} after a reply"
