"""The front desk's screening list and its moves: confirm, cancel, attended, no-show."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from nurture.booking.front_desk import (
    DeskRefused,
    cancel_screening,
    move_desk_status,
    screenings_by_day,
)
from nurture.booking.models import BookingStatus, DeskStatus
from nurture.booking.notices import CANCELLATION
from nurture.booking.service import book_slot, reschedule_booking
from nurture.clock import ManualClock
from nurture.config import Settings, get_settings
from nurture.messages.models import MessageStatus
from tests.booking.clinic import (
    TUE_0900,
    TUE_1000,
    WEEK,
    bookings,
    notices,
    seats,
    set_availability,
)
from tests.factories import capture
from tests.support import Database

# Wednesday 4 November 2026, 19:00 in Chicago: already Thursday in UTC.
WED_1900 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)


def booked(
    db: Database,
    settings: Settings,
    clock: ManualClock,
    at: datetime = TUE_0900,
    email: str = "dana@example.com",
    first_name: str = "Dana",
) -> int:
    lead = capture(db.factory, clock, settings, email=email, first_name=first_name, phone=None)
    with db.factory.begin() as session:
        return book_slot(session, settings, lead.lead_id, at, source="test", now=clock.now()).id


def move(db: Database, clock: ManualClock, booking_id: int, status: DeskStatus) -> str:
    with db.factory.begin() as session:
        return move_desk_status(
            session, get_settings(), booking_id, status, now=clock.now()
        ).desk_status


def cancel(db: Database, settings: Settings, clock: ManualClock, booking_id: int) -> None:
    with db.factory.begin() as session:
        cancel_screening(session, settings, booking_id, now=clock.now())


@pytest.fixture(autouse=True)
def _week(db: Database, clock: ManualClock) -> None:
    set_availability(db.factory, clock)


def test_confirming_a_booked_screening_records_when(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    assert move(db, clock, booking_id, DeskStatus.CONFIRMED) == DeskStatus.CONFIRMED
    [booking] = bookings(db.factory)
    assert booking.desk_status_at == clock.now()


def test_confirming_twice_is_refused(db: Database, settings: Settings, clock: ManualClock) -> None:
    booking_id = booked(db, settings, clock)
    move(db, clock, booking_id, DeskStatus.CONFIRMED)
    with pytest.raises(DeskRefused, match="already confirmed"):
        move(db, clock, booking_id, DeskStatus.CONFIRMED)


def test_no_show_is_refused_before_the_screening_starts(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    with pytest.raises(DeskRefused, match="has not started yet"):
        move(db, clock, booking_id, DeskStatus.NO_SHOW)
    [booking] = bookings(db.factory)
    assert booking.desk_status == DeskStatus.BOOKED


def test_no_show_after_the_start_ends_the_desk_moves(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    move(db, clock, booking_id, DeskStatus.CONFIRMED)
    clock.set(TUE_0900 + timedelta(minutes=5))
    assert move(db, clock, booking_id, DeskStatus.NO_SHOW) == DeskStatus.NO_SHOW
    with pytest.raises(DeskRefused, match="already a no-show; it cannot be attended"):
        move(db, clock, booking_id, DeskStatus.ATTENDED)
    with pytest.raises(DeskRefused, match="cannot be cancelled"):
        cancel(db, settings, clock, booking_id)


def test_cancelling_frees_the_seat_and_queues_the_patients_notice(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    move(db, clock, booking_id, DeskStatus.CONFIRMED)
    cancel(db, settings, clock, booking_id)
    [booking] = bookings(db.factory)
    assert (booking.status, booking.cancel_source) == (BookingStatus.CANCELLED, "front-desk")
    assert seats(db.factory) == []
    cancellation = [m for key, m in notices(db.factory).items() if f":{CANCELLATION}:" in key]
    assert [(m.channel, m.status) for m in cancellation] == [("email", MessageStatus.HELD)]
    assert cancellation[0].due_at == clock.now()


def test_a_cancelled_screening_cannot_be_cancelled_or_confirmed_again(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    cancel(db, settings, clock, booking_id)
    with pytest.raises(DeskRefused, match="already cancelled"):
        cancel(db, settings, clock, booking_id)
    with pytest.raises(DeskRefused, match="was cancelled"):
        move(db, clock, booking_id, DeskStatus.CONFIRMED)


def test_a_screening_that_has_started_cannot_be_cancelled(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    clock.set(TUE_0900)
    with pytest.raises(DeskRefused, match="already started"):
        cancel(db, settings, clock, booking_id)
    assert [b.status for b in bookings(db.factory)] == [BookingStatus.CONFIRMED]


def test_a_moved_screening_needs_confirming_again(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    move(db, clock, booking_id, DeskStatus.CONFIRMED)
    with db.factory.begin() as session:
        reschedule_booking(session, settings, booking_id, TUE_1000, source="test", now=clock.now())
    [booking] = bookings(db.factory)
    assert (booking.desk_status, booking.desk_status_at) == (DeskStatus.BOOKED, None)


def test_the_week_lists_every_clinic_day_with_its_screenings_in_time_order(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    evenings = {**WEEK["weekly_hours"], "wednesday": ["13:00-20:00"]}
    set_availability(db.factory, clock, weekly_hours=evenings)
    later = booked(db, settings, clock, TUE_1000, "lee@example.com", "Lee")
    earlier = booked(db, settings, clock, TUE_0900)
    evening = booked(db, settings, clock, WED_1900, "kim@example.com", "Kim")
    cancel(db, settings, clock, evening)
    with db.factory() as session:
        days = screenings_by_day(session, date(2026, 11, 2), 8, settings.clinic_zone)
    assert [d.day for d in days] == [date(2026, 11, 2) + timedelta(days=n) for n in range(8)]
    by_day = {d.day: [(s.booking_id, s.first_name, s.status) for s in d.screenings] for d in days}
    assert by_day[date(2026, 11, 3)] == [(earlier, "Dana", "booked"), (later, "Lee", "booked")]
    # The clinic's calendar decides the day, not UTC's.
    assert by_day[date(2026, 11, 4)] == [(evening, "Kim", "cancelled")]
    assert by_day[date(2026, 11, 2)] == []
