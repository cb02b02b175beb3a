"""Screening slots from the clinic's availability, and the seats that fill them.

Slots are wall-clock times in the clinic's zone, turned into UTC day by day, so a
09:00 slot stays at 09:00 across a daylight-saving change. Capacity is enforced by
the database: a slot with capacity N has seats 1..N, each (starts_at, seat) unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nurture.booking.availability import Availability, load_availability
from nurture.booking.models import BookingSeat
from nurture.config import Settings
from nurture.db import upsert_insert
from nurture.locations.directory import Locations
from nurture.locations.models import DEFAULT_LOCATION_ID


@dataclass(frozen=True, slots=True)
class Slot:
    """An open screening time; `starts_at`/`ends_at` are aware UTC."""

    starts_at: datetime
    ends_at: datetime
    seats_left: int


class SlotUnavailable(Exception):
    """The slot cannot be booked: full, closed, too soon, too far ahead, or not a slot."""

    def __init__(self, starts_at: datetime, reason: str) -> None:
        super().__init__(f"{starts_at.isoformat()}: {reason}")
        self.starts_at = starts_at
        self.reason = reason


def slot_times(availability: Availability, zone: ZoneInfo, day: date) -> list[datetime]:
    """The slot starts (UTC) on a clinic-local day, closed dates included."""
    length = timedelta(minutes=availability.screening_minutes)
    starts = []
    for opens, closes in availability.ranges(day.weekday()):
        local = datetime.combine(day, opens)
        last = datetime.combine(day, closes) - length
        while local <= last:
            aware = local.replace(tzinfo=zone)
            moment = aware.astimezone(UTC)
            # A wall time skipped by a spring-forward change does not exist: no slot.
            if moment.astimezone(zone).replace(tzinfo=None) == local:
                starts.append(moment)
            local += length
    return starts


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def seats_taken(
    session: Session, start: datetime, end: datetime, location_id: int = DEFAULT_LOCATION_ID
) -> dict[datetime, int]:
    """How many of a location's seats are taken per slot start in [start, end)."""
    rows = session.execute(
        select(BookingSeat.starts_at, func.count())
        .where(
            BookingSeat.location_id == location_id,
            BookingSeat.starts_at >= start,
            BookingSeat.starts_at < end,
        )
        .group_by(BookingSeat.starts_at)
    ).all()
    return {starts_at: count for starts_at, count in rows}


def bookable_window(availability: Availability, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and (exclusive) latest start a prospect may book now."""
    earliest = now + timedelta(hours=availability.minimum_notice_hours)
    return earliest, now + timedelta(days=availability.horizon_days)


def open_slots(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 3,
    location_id: int = DEFAULT_LOCATION_ID,
) -> list[Slot]:
    """A location's next open slots after max(now + notice, start), before end and the
    horizon, in the location's zone."""
    settings = Locations.load(session).settings(settings, location_id)
    availability = load_availability(session, settings, now, location_id)
    zone = settings.clinic_zone
    earliest, latest = bookable_window(availability, now)
    if start is not None:
        earliest = max(earliest, start)
    if end is not None:
        latest = min(latest, end)
    if earliest >= latest or limit <= 0:
        return []
    taken = seats_taken(session, earliest, latest, location_id)
    length = timedelta(minutes=availability.screening_minutes)
    found: list[Slot] = []
    day = _local_day(earliest, zone)
    while day <= _local_day(latest, zone) and len(found) < limit:
        if not availability.is_closed(day):
            for moment in slot_times(availability, zone, day):
                left = availability.capacity - taken.get(moment, 0)
                if earliest <= moment < latest and left > 0:
                    found.append(Slot(moment, moment + length, left))
                    if len(found) == limit:
                        break
        day += timedelta(days=1)
    return found


def check_bookable(
    availability: Availability,
    zone: ZoneInfo,
    starts_at: datetime,
    now: datetime,
    offered_at: datetime | None = None,
) -> datetime:
    """The slot's end when `starts_at` may be booked now, else SlotUnavailable.

    A slot we offered keeps the minimum notice of the moment we offered it: a prospect
    who answers "1" twenty minutes later must not be told it is too soon.
    """
    if starts_at.tzinfo is None:
        raise ValueError("naive datetime given as a slot start; use aware UTC")
    if starts_at <= now:
        raise SlotUnavailable(starts_at, "that time has passed")
    earliest, latest = bookable_window(availability, min(offered_at or now, now))
    day = _local_day(starts_at, zone)
    if starts_at not in slot_times(availability, zone, day):
        raise SlotUnavailable(starts_at, "not a screening time")
    if availability.is_closed(day):
        raise SlotUnavailable(starts_at, "the clinic is closed that day")
    if starts_at < earliest:
        raise SlotUnavailable(starts_at, "too soon to book")
    if starts_at >= latest:
        raise SlotUnavailable(starts_at, "too far ahead to book")
    return starts_at + timedelta(minutes=availability.screening_minutes)


def take_seat(
    session: Session,
    starts_at: datetime,
    capacity: int,
    now: datetime,
    location_id: int = DEFAULT_LOCATION_ID,
) -> int:
    """Take the first free seat in the location's slot and return its id, else
    SlotUnavailable.

    ON CONFLICT DO NOTHING lets the unique (location, starts_at, seat) triple arbitrate: on
    PostgreSQL a racing insert of the same seat waits for the other transaction and
    then inserts nothing, so the loser moves to the next seat, and the transaction is
    never left aborted (no savepoint needed, which pysqlite does not honour anyway).
    """
    for seat in range(1, capacity + 1):
        seat_id: int | None = session.scalar(
            upsert_insert(session)(BookingSeat)
            .values(location_id=location_id, starts_at=starts_at, seat=seat, taken_at=now)
            .on_conflict_do_nothing(index_elements=["location_id", "starts_at", "seat"])
            .returning(BookingSeat.id)
        )
        if seat_id is not None:
            return seat_id
    raise SlotUnavailable(starts_at, "fully booked")


def free_seat(session: Session, seat_id: int) -> None:
    """Give a seat back to its slot."""
    session.execute(delete(BookingSeat).where(BookingSeat.id == seat_id))
