"""A slot is never booked beyond its capacity, whatever order or timing the requests have."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from nurture.booking.models import BookingStatus
from nurture.booking.service import (
    BookingClosed,
    book_slot,
    cancel_booking,
    reschedule_booking,
    upcoming_booking,
)
from nurture.booking.slots import SlotUnavailable, open_slots
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import make_engine
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.booking.clinic import TUE_0900, TUE_0930, bookings, seats, set_availability
from tests.factories import capture
from tests.support import START, Database


def lead(db: Database, clock: ManualClock, settings: Settings, name: str) -> int:
    return capture(
        db.factory, clock, settings, email=f"{name}@example.com", first_name=name
    ).lead_id


def book(db: Database, settings: Settings, clock: ManualClock, lead_id: int, at: datetime) -> int:
    with db.factory.begin() as session:
        return book_slot(session, settings, lead_id, at, source="test", now=clock.now()).id


def test_last_place_goes_to_one_lead_and_the_other_is_told_it_is_unavailable(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=1)
    ann, ben = lead(db, clock, settings, "ann"), lead(db, clock, settings, "ben")
    book(db, settings, clock, ann, TUE_0900)
    with pytest.raises(SlotUnavailable) as caught:
        book(db, settings, clock, ben, TUE_0900)
    assert caught.value.reason == "fully booked"
    assert [(b.lead_id, b.starts_at, b.status) for b in bookings(db.factory)] == [
        (ann, TUE_0900, BookingStatus.CONFIRMED)
    ]
    # Losing the race leaves Ben exactly as he was: still in his sequence.
    with db.factory() as session:
        status = session.scalars(select(Enrollment.status).where(Enrollment.lead_id == ben)).one()
    assert status == EnrollmentStatus.ACTIVE


def test_a_slot_for_two_takes_two_bookings_then_refuses_the_third(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=2)
    ids = [lead(db, clock, settings, name) for name in ("ann", "ben", "cat")]
    book(db, settings, clock, ids[0], TUE_0900)
    with db.factory() as session:
        first = open_slots(session, settings, now=clock.now(), limit=1)[0]
    assert (first.starts_at, first.seats_left) == (TUE_0900, 1)
    book(db, settings, clock, ids[1], TUE_0900)
    with pytest.raises(SlotUnavailable):
        book(db, settings, clock, ids[2], TUE_0900)
    assert seats(db.factory) == [(TUE_0900, 1), (TUE_0900, 2)]
    with db.factory() as session:
        assert open_slots(session, settings, now=clock.now(), limit=1)[0].starts_at == TUE_0930


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (TUE_0900 + timedelta(minutes=10), "not a screening time"),
        (datetime(2026, 11, 8, 15, 0, tzinfo=UTC), "not a screening time"),  # a Sunday
        (datetime(2026, 11, 2, 19, 0, tzinfo=UTC), "too soon to book"),  # today 13:00
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "too far ahead to book"),
    ],
)
def test_times_that_are_not_open_slots_are_refused(
    db: Database, settings: Settings, clock: ManualClock, at: datetime, reason: str
) -> None:
    set_availability(db.factory, clock)
    ann = lead(db, clock, settings, "ann")
    with pytest.raises(SlotUnavailable) as caught:
        book(db, settings, clock, ann, at)
    assert caught.value.reason == reason
    assert bookings(db.factory) == [] and seats(db.factory) == []


def test_a_closed_date_cannot_be_booked(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock, closed_dates=["2026-11-03"])
    with pytest.raises(SlotUnavailable, match="closed that day"):
        book(db, settings, clock, lead(db, clock, settings, "ann"), TUE_0900)


def test_booking_again_moves_the_booking_instead_of_adding_a_second(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    ann = lead(db, clock, settings, "ann")
    first = book(db, settings, clock, ann, TUE_0900)
    assert book(db, settings, clock, ann, TUE_0900) == first  # the same choice twice
    assert book(db, settings, clock, ann, TUE_0930) == first
    [booking] = bookings(db.factory)
    assert (booking.starts_at, booking.calendar_sequence) == (TUE_0930, 1)
    assert seats(db.factory) == [(TUE_0930, 1)]


def test_rescheduling_frees_the_old_seat_for_someone_else(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=1)
    ann, ben = lead(db, clock, settings, "ann"), lead(db, clock, settings, "ben")
    booking_id = book(db, settings, clock, ann, TUE_0900)
    with db.factory.begin() as session:
        moved = reschedule_booking(
            session, settings, booking_id, TUE_0930, source="test", now=clock.now()
        )
        assert moved.starts_at == TUE_0930
    book(db, settings, clock, ben, TUE_0900)
    assert seats(db.factory) == [(TUE_0900, 1), (TUE_0930, 1)]
    assert {b.lead_id: b.starts_at for b in bookings(db.factory)} == {
        ann: TUE_0930,
        ben: TUE_0900,
    }


def test_moving_to_a_full_slot_keeps_the_booking_where_it_was(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=1)
    ann, ben = lead(db, clock, settings, "ann"), lead(db, clock, settings, "ben")
    ann_booking = book(db, settings, clock, ann, TUE_0900)
    book(db, settings, clock, ben, TUE_0930)
    with pytest.raises(SlotUnavailable), db.factory.begin() as session:
        reschedule_booking(session, settings, ann_booking, TUE_0930, source="test", now=clock.now())
    assert {b.lead_id: b.starts_at for b in bookings(db.factory)} == {
        ann: TUE_0900,
        ben: TUE_0930,
    }
    assert seats(db.factory) == [(TUE_0900, 1), (TUE_0930, 1)]


def test_cancelling_frees_the_seat_and_cannot_be_undone_by_moving(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=1)
    ann, ben = lead(db, clock, settings, "ann"), lead(db, clock, settings, "ben")
    booking_id = book(db, settings, clock, ann, TUE_0900)
    for _ in range(2):  # a second cancel changes nothing
        with db.factory.begin() as session:
            cancelled = cancel_booking(
                session, settings, booking_id, source="staff", now=clock.now()
            )
    assert (cancelled.status, cancelled.cancel_source, cancelled.seat_id) == (
        BookingStatus.CANCELLED,
        "staff",
        None,
    )
    assert cancelled.calendar_sequence == 1
    with db.factory() as session:
        assert upcoming_booking(session, ann) is None
    book(db, settings, clock, ben, TUE_0900)
    with pytest.raises(BookingClosed), db.factory.begin() as session:
        reschedule_booking(session, settings, booking_id, TUE_0930, source="test", now=clock.now())
    # Ann may book again: a new booking, not the cancelled one revived.
    assert book(db, settings, clock, ann, TUE_0930) != booking_id


def test_two_prospects_racing_for_the_last_place_on_postgres_get_one_booking(
    fresh_postgres_url: str, settings: Settings
) -> None:
    engine = make_engine(fresh_postgres_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    clock = ManualClock(START)
    try:
        set_availability(factory, clock, capacity=1)
        racers = [
            capture(factory, clock, settings, email=f"r{i}@example.com", first_name=f"R{i}").lead_id
            for i in range(2)
        ]
        barrier = threading.Barrier(2)
        outcomes: dict[int, str] = {}

        def race(lead_id: int) -> None:
            with factory.begin() as session:
                # Both have read the slot as open before either takes the seat.
                open_now = open_slots(session, settings, now=clock.now(), limit=1)
                assert open_now[0].starts_at == TUE_0900
                barrier.wait(timeout=10)
                try:
                    book_slot(session, settings, lead_id, TUE_0900, source="race", now=clock.now())
                    outcomes[lead_id] = "booked"
                except SlotUnavailable:
                    outcomes[lead_id] = "unavailable"

        threads = [threading.Thread(target=race, args=(lead_id,)) for lead_id in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes.values()) == ["booked", "unavailable"]
        winner = next(lead_id for lead_id, result in outcomes.items() if result == "booked")
        assert [(b.lead_id, b.starts_at) for b in bookings(factory)] == [(winner, TUE_0900)]
        assert seats(factory) == [(TUE_0900, 1)]
    finally:
        engine.dispose()


def test_two_prospects_booking_the_last_place_one_after_the_other_on_sqlite(
    settings: Settings, sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "race.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = sessionmaker(engine, expire_on_commit=False)
    clock = ManualClock(START)
    try:
        set_availability(factory, clock, capacity=1)
        first, second = (
            capture(factory, clock, settings, email=f"s{i}@example.com").lead_id for i in range(2)
        )
        # Both prospects saw the slot open; the second writer still finds the seat taken.
        # (SQLite serialises writers, so "racing" here means one after the other.)
        for _ in range(2):
            with factory() as looking:
                assert open_slots(looking, settings, now=clock.now(), limit=1)[0].starts_at == (
                    TUE_0900
                )
        with factory.begin() as one:
            book_slot(one, settings, first, TUE_0900, source="race", now=clock.now())
        with pytest.raises(SlotUnavailable), factory.begin() as two:
            book_slot(two, settings, second, TUE_0900, source="race", now=clock.now())
        assert [b.lead_id for b in bookings(factory)] == [first]
    finally:
        engine.dispose()
