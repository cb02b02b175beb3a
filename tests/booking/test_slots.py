"""Open screening slots: weekly hours, closed dates, notice, horizon, capacity, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nurture.booking.availability import load_availability
from nurture.booking.display import at_clinic
from nurture.booking.slots import Slot, open_slots, slot_times, take_seat
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.booking.clinic import TUE_0900, TUE_0930, TUE_1000, set_availability
from tests.support import Database


def slots(
    db: Database,
    settings: Settings,
    clock: ManualClock,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 3,
) -> list[Slot]:
    with db.factory() as session:
        return open_slots(session, settings, now=clock.now(), start=start, end=end, limit=limit)


def starts(found: list[Slot]) -> list[datetime]:
    return [slot.starts_at for slot in found]


def local(found: list[Slot], zone: str = "America/Chicago") -> list[str]:
    return [f"{s.starts_at.astimezone(ZoneInfo(zone)):%a %d %H:%M %Z}" for s in found]


def test_first_slots_come_after_the_minimum_notice_in_time_order(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock)
    found = slots(db, settings, clock)
    # Monday 09:00 in Chicago, 12 hours' notice: nothing before Tuesday morning.
    assert starts(found) == [TUE_0900, TUE_0930, TUE_1000]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in found)
    assert all(s.seats_left == 1 and s.starts_at.tzinfo is UTC for s in found)


def test_slots_follow_each_opening_range_of_the_day(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock)
    found = slots(db, settings, clock, limit=20)
    tuesday = [t for t in local(found) if t.startswith("Tue")]
    assert tuesday[:6] == [
        "Tue 03 09:00 CST",
        "Tue 03 09:30 CST",
        "Tue 03 10:00 CST",
        "Tue 03 10:30 CST",
        "Tue 03 11:00 CST",
        "Tue 03 11:30 CST",
    ]
    # Lunch is closed; the last slot ends when the afternoon range does.
    assert tuesday[6] == "Tue 03 13:00 CST"
    assert tuesday[-1] == "Tue 03 16:30 CST"
    assert len(tuesday) == 14


def test_longer_screenings_make_fewer_slots_that_still_end_in_opening_hours(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(
        db.factory, clock, screening_minutes=45, weekly_hours={"tuesday": ["09:00-11:00"]}
    )
    assert local(slots(db, settings, clock, limit=5)) == [
        "Tue 03 09:00 CST",
        "Tue 03 09:45 CST",
        "Tue 10 09:00 CST",
        "Tue 10 09:45 CST",
        "Tue 17 09:00 CST",
    ]


def test_closed_dates_and_closed_weekdays_have_no_slots(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock, closed_dates=["2026-11-03", "2026-11-05"])
    days = {t[:6] for t in local(slots(db, settings, clock, limit=200))}
    assert "Tue 03" not in days and "Thu 05" not in days
    assert "Wed 04" in days and "Fri 06" in days
    assert not any(day.startswith("Sun") for day in days)


def test_minimum_notice_moves_the_first_slot(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock, minimum_notice_hours=0)
    # Monday 09:00 sharp is bookable with no notice; 2 hours' notice starts at 11:00.
    assert local(slots(db, settings, clock, limit=1)) == ["Mon 02 09:00 CST"]
    set_availability(db.factory, clock, minimum_notice_hours=2)
    assert local(slots(db, settings, clock, limit=1)) == ["Mon 02 11:00 CST"]


def test_no_slot_is_offered_beyond_the_booking_horizon(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock, horizon_days=3)
    found = slots(db, settings, clock, limit=500)
    assert found and max(starts(found)) < clock.now() + timedelta(days=3)
    # Three days from Monday 09:00: Thursday 09:00 is just beyond it.
    assert local(found)[-1] == "Wed 04 16:30 CST"
    assert {t[:6] for t in local(found)} == {"Tue 03", "Wed 04"}


def test_start_and_end_narrow_the_search(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock)
    thursday = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
    found = slots(db, settings, clock, start=thursday, end=thursday + timedelta(hours=5), limit=50)
    assert local(found)[0] == "Thu 05 09:00 CST" and local(found)[-1] == "Thu 05 10:30 CST"
    # A start in the past never beats the minimum notice.
    assert starts(slots(db, settings, clock, start=clock.now() - timedelta(days=9))) == [
        TUE_0900,
        TUE_0930,
        TUE_1000,
    ]


def test_slots_keep_their_wall_clock_time_across_the_spring_dst_change(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    # Chicago moves to CDT on Sunday 14 March 2027.
    clock.set(datetime(2027, 3, 11, 15, 0, tzinfo=UTC))
    set_availability(
        db.factory, clock, weekly_hours={"friday": ["09:00-09:30"], "monday": ["09:00-09:30"]}
    )
    found = slots(db, settings, clock)
    assert local(found) == ["Fri 12 09:00 CST", "Mon 15 09:00 CDT", "Fri 19 09:00 CDT"]
    assert [s.starts_at.hour for s in found] == [15, 14, 14]


def test_slots_keep_their_wall_clock_time_across_the_autumn_dst_change(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    # Chicago leaves CDT on Sunday 1 November 2026; Saturday is still CDT.
    clock.set(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    found = slots_after_set(db, settings, clock)
    assert local(found) == ["Sat 31 09:00 CDT", "Mon 02 09:00 CST"]
    assert starts(found) == [
        datetime(2026, 10, 31, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
    ]


def slots_after_set(db: Database, settings: Settings, clock: ManualClock) -> list[Slot]:
    set_availability(
        db.factory, clock, weekly_hours={"saturday": ["09:00-09:30"], "monday": ["09:00-09:30"]}
    )
    return slots(db, settings, clock, limit=2)


def test_a_wall_time_skipped_by_the_spring_change_is_never_a_slot(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock, weekly_hours={"sunday": ["01:00-04:00"]})
    with db.factory() as session:
        availability = load_availability(session, settings, clock.now())
    times = slot_times(availability, settings.clinic_zone, date(2027, 3, 14))
    labels = [f"{t.astimezone(settings.clinic_zone):%H:%M %Z}" for t in times]
    assert labels == ["01:00 CST", "01:30 CST", "03:00 CDT", "03:30 CDT"]


@pytest.mark.parametrize("capacity", [1, 2])
def test_full_slots_are_left_out_and_seats_left_counts_down(
    db: Database, settings: Settings, clock: ManualClock, capacity: int
) -> None:
    set_availability(db.factory, clock, capacity=capacity)
    with db.factory.begin() as session:
        take_seat(session, TUE_0900, capacity, clock.now())
    found = slots(db, settings, clock)
    if capacity == 1:
        assert starts(found) == [TUE_0930, TUE_1000, TUE_1000 + timedelta(minutes=30)]
    else:
        assert [(s.starts_at, s.seats_left) for s in found] == [
            (TUE_0900, 1),
            (TUE_0930, 2),
            (TUE_1000, 2),
        ]


def test_a_far_away_lead_sees_which_day_it_is_for_them() -> None:
    nine_am_chicago = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    words = at_clinic(nine_am_chicago, ZoneInfo("America/Chicago"), ZoneInfo("Asia/Tokyo"))
    assert words.full == "Thursday, December 3 at 9:00 AM CST (Fri 12:00 AM JST your time)"
    same = at_clinic(nine_am_chicago, ZoneInfo("America/Chicago"), ZoneInfo("America/Chicago"))
    assert same.full == "Thursday, December 3 at 9:00 AM CST"
