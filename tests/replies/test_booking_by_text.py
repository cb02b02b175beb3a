"""Booking a screening by text: numbered offers, answers by number or by day and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import book_slot
from nurture.booking.slots import open_slots
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.capture import CaptureResult
from nurture.replies.intent import Intent
from nurture.replies.models import SlotOffer
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.replies.conftest import Texter, rows
from tests.support import Database

# START is Monday 09:00 in Chicago; with 12 hours' notice the first slots are Tuesday's.
TUE_0900 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
TUE_0930 = datetime(2026, 11, 3, 15, 30, tzinfo=UTC)
TUE_1000 = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)
TUE_1300 = datetime(2026, 11, 3, 19, 0, tzinfo=UTC)


def open_bookings(db: Database) -> list[Booking]:
    return rows(db, Booking, Booking.status != BookingStatus.CANCELLED)


def test_book_offers_the_next_three_slots_numbered_in_the_leads_zone(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("BOOK")
    assert outcome.intent is Intent.BOOK
    assert outcome.reply is not None
    assert "1) Tue Nov 3, 9:00 AM CST" in outcome.reply
    assert "2) Tue Nov 3, 9:30 AM CST" in outcome.reply
    assert "3) Tue Nov 3, 10:00 AM CST" in outcome.reply
    assert "Reply 1, 2 or 3 to book." in outcome.reply
    [offer] = rows(db, SlotOffer)
    assert [datetime.fromisoformat(s) for s in offer.starts] == [TUE_0900, TUE_0930, TUE_1000]


def test_times_are_offered_in_the_leads_own_zone(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, text: Texter
) -> None:
    capture(db.factory, clock, settings, phone="+12125550123", timezone="America/New_York")
    reply = text("yes please", sender="+12125550123").reply
    assert reply is not None and "1) Tue Nov 3, 10:00 AM EST" in reply


def test_offer_then_two_books_the_second_slot_and_ends_the_sequence(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("I'd like a screening")
    outcome = text("2")
    assert outcome.intent is Intent.SLOT_CHOICE
    assert outcome.reply is not None and "You're booked" in outcome.reply
    assert "Tue Nov 3, 9:30 AM CST" in outcome.reply
    [booking] = open_bookings(db)
    assert (booking.lead_id, booking.starts_at, booking.source) == (
        lead.lead_id,
        TUE_0930,
        "sms-reply",
    )
    [enrollment] = rows(db, Enrollment)
    assert enrollment.status == EnrollmentStatus.EXITED
    assert all(offer.closed_at is not None for offer in rows(db, SlotOffer))


def test_tomorrow_morning_books_the_first_open_morning_slot(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("tomorrow morning")
    assert outcome.intent is Intent.SLOT_CHOICE
    assert [b.starts_at for b in open_bookings(db)] == [TUE_0900]


def test_a_day_and_time_books_that_exact_slot(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("schedule me")
    text("Tue 1pm")
    assert [b.starts_at for b in open_bookings(db)] == [TUE_1300]


def test_a_slot_taken_meanwhile_gets_fresh_options_not_an_error(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    rival = capture(db.factory, clock, settings, email="rival@example.com", phone="+12175550111")
    with db.factory.begin() as session:
        book_slot(session, settings, rival.lead_id, TUE_0900, source="test", now=clock.now())
    outcome = text("1")
    assert outcome.reply is not None
    assert outcome.reply.startswith("Sorry, that time was just taken.")
    assert "1) Tue Nov 3, 9:30 AM CST" in outcome.reply
    assert [b.lead_id for b in open_bookings(db)] == [rival.lead_id]
    offers = rows(db, SlotOffer)
    assert len(offers) == 2 and offers[0].closed_at is not None and offers[1].closed_at is None


def test_an_answer_matching_no_open_slot_gets_fresh_options_from_that_day(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("Sunday afternoon")  # the clinic is closed on Sundays
    assert outcome.reply is not None
    assert outcome.reply.startswith("We have no opening at that time.")
    assert "1) Mon Nov 9, 9:00 AM CST" in outcome.reply
    assert open_bookings(db) == []


def test_an_option_number_after_the_offer_expired_gets_fresh_options(
    db: Database, clock: ManualClock, lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    clock.advance(timedelta(days=2))
    outcome = text("2")
    assert outcome.intent is Intent.BOOK
    assert outcome.reply is not None and "1) Thu Nov 5, 9:00 AM CST" in outcome.reply
    assert open_bookings(db) == []


def test_cancel_my_appointment_cancels_the_booking(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    text("1")
    outcome = text("I need to cancel my appointment")
    assert outcome.intent is Intent.CANCEL
    assert outcome.reply is not None
    assert "Tue Nov 3, 9:00 AM CST is cancelled" in outcome.reply
    [booking] = rows(db, Booking)
    assert (booking.status, booking.cancel_source) == (BookingStatus.CANCELLED, "sms-reply")


def test_bare_cancel_with_a_booking_opts_out_and_keeps_the_booking(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    text("1")
    outcome = text("CANCEL")
    assert outcome.intent is Intent.STOP
    [booking] = rows(db, Booking)
    assert booking.status == BookingStatus.CONFIRMED


def test_reschedule_offers_new_times_and_a_number_moves_the_booking(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    text("1")
    offer = text("Can I reschedule?")
    assert offer.intent is Intent.RESCHEDULE
    assert offer.reply is not None and "Open times to move your free screening to:" in offer.reply
    assert "1) Tue Nov 3, 9:30 AM CST" in offer.reply
    moved = text("1")
    assert moved.reply is not None and "moved to Tue Nov 3, 9:30 AM CST" in moved.reply
    assert [b.starts_at for b in open_bookings(db)] == [TUE_0930]
    assert len(rows(db, Booking)) == 1
    with db.factory() as session:  # the old time is free for someone else
        assert TUE_0900 in [s.starts_at for s in open_slots(session, settings, now=clock.now())]


def test_booking_again_when_booked_says_when_and_how_to_change_it(
    lead: CaptureResult, text: Texter
) -> None:
    text("BOOK")
    text("3")
    reply = text("book").reply
    assert reply is not None
    assert "already booked for Tue Nov 3, 10:00 AM CST" in reply
    assert "CANCEL APPOINTMENT" in reply


def test_an_offered_slot_can_still_be_chosen_after_the_notice_window_moved_past_it(
    db: Database, lead: CaptureResult, text: Texter, clock: ManualClock
) -> None:
    text("BOOK")  # offers Tue 09:00 at Mon 09:00, with 12 hours' notice
    clock.advance(timedelta(hours=1))  # Tue 09:00 is now only 23 hours away: still fine
    clock.advance(timedelta(hours=12))  # now 11 hours away: inside today's notice
    outcome = text("1")
    assert outcome.reply is not None and "You're booked" in outcome.reply
    assert [b.starts_at for b in open_bookings(db)] == [TUE_0900]


def test_an_offered_slot_that_has_already_begun_is_replaced_by_fresh_options(
    db: Database, lead: CaptureResult, text: Texter, clock: ManualClock
) -> None:
    text("BOOK")
    clock.advance(timedelta(hours=24, minutes=5))  # Tue 09:05: the 09:00 slot has begun
    outcome = text("1")
    assert outcome.reply is not None and "1) " in outcome.reply
    assert open_bookings(db) == []
