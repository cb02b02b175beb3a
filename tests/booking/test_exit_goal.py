"""Invariant 4: a booked screening ends the sequence; no educational message follows it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.booking.service import EXIT_REASON, book_slot
from nurture.booking.slots import open_slots
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.messages.transactional import Notice, queue_notice
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.booking.clinic import set_availability
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database


def test_booking_a_slot_ends_the_sequence_and_no_later_step_is_sent(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=2), step=timedelta(hours=1))
    sent_before = {m.step_key for m in harness.messages().values() if m.status == "sent"}
    assert "welcome-article" in sent_before
    booked_at = clock.now()
    with db.factory.begin() as session:
        slot = open_slots(session, settings, now=booked_at, limit=1)[0]
        book_slot(session, settings, lead.lead_id, slot.starts_at, source="test", now=booked_at)
    harness.run_for(timedelta(days=30), step=timedelta(hours=6))
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        campaign_rows = session.scalars(
            select(Message).where(Message.kind == MessageKind.CAMPAIGN)
        ).all()
    assert (enrollment.status, enrollment.end_reason) == (EnrollmentStatus.EXITED, EXIT_REASON)
    assert enrollment.next_step_key is None
    # Nothing was written for the steps after the booking, and nothing went out after it.
    assert {m.step_key for m in campaign_rows} == sent_before
    assert all(m.handed_off_at is not None and m.handed_off_at < booked_at for m in campaign_rows)
    # The booking's own confirmation is not an educational message: it does go out.
    assert "booking-confirmation" in {
        m.step_key for m in harness.messages().values() if m.status == MessageStatus.SENT
    }


def test_a_booking_does_not_silence_notices_already_waiting_for_the_lead(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        queue_notice(
            session,
            Notice(lead.lead_id, "reply", "reply:1", clock.now()),
            "Thanks! Here are our next free times.",
            clock.now(),
        )
        slot = open_slots(session, settings, now=clock.now(), limit=1)[0]
        book_slot(session, settings, lead.lead_id, slot.starts_at, source="test", now=clock.now())
    messages = Harness(db, clock, settings).messages()
    assert messages["reply"].status == MessageStatus.HELD
    assert messages["booking-confirmation"].status == MessageStatus.HELD
