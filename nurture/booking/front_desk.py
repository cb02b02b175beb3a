"""The front desk's screening list and the moves it makes: confirm, cancel, attended, no-show.

A booking's `status` says whether it holds a seat; `desk_status` says where the front
desk is with the patient. Both only move forward, and the allowed desk moves are
written down once, in DESK_MOVES.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus, DeskStatus
from nurture.booking.service import UnknownBooking, cancel_booking
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.sequences.follow_up import lead_event

CANCELLED = "cancelled"  # how a cancelled booking's status reads on the desk's list
DESK_MOVES: dict[DeskStatus, frozenset[DeskStatus]] = {
    DeskStatus.BOOKED: frozenset({DeskStatus.CONFIRMED, DeskStatus.ATTENDED, DeskStatus.NO_SHOW}),
    DeskStatus.CONFIRMED: frozenset({DeskStatus.ATTENDED, DeskStatus.NO_SHOW}),
    DeskStatus.ATTENDED: frozenset(),
    DeskStatus.NO_SHOW: frozenset(),
}
# Whether the patient came can only be said once the screening has begun.
AFTER_START = frozenset({DeskStatus.ATTENDED, DeskStatus.NO_SHOW})
CANCELLABLE = frozenset({DeskStatus.BOOKED, DeskStatus.CONFIRMED})
CANCEL_SOURCE = "front-desk"


class DeskRefused(ValueError):
    """The front desk asked for a move the booking cannot make; the message says why."""


def desk_label(booking: Booking) -> str:
    """The one status the front desk sees: 'cancelled', or where the desk is with it."""
    return CANCELLED if booking.status == BookingStatus.CANCELLED else booking.desk_status


def _locked(session: Session, booking_id: int) -> tuple[Booking, datetime]:
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None or booking.starts_at is None:
        raise UnknownBooking(f"no screening {booking_id}")
    return booking, booking.starts_at


def _move_refusal(status: str, starts_at: datetime, new: DeskStatus, now: datetime) -> str | None:
    """Why a screening with desk label `status` cannot move to `new` now (None if it can)."""
    if status == CANCELLED:
        return "This screening was cancelled; it cannot be changed."
    if new not in DESK_MOVES[DeskStatus(status)]:
        return f"This screening is already {_words(status)}; it cannot be {_words(new)}."
    if new in AFTER_START and now < starts_at:
        return f"This screening has not started yet; it cannot be {_words(new)}."
    return None


def _cancel_refusal(status: str, starts_at: datetime, now: datetime) -> str | None:
    """Why a screening with desk label `status` cannot be cancelled now (None if it can)."""
    if status == CANCELLED:
        return "This screening is already cancelled."
    if DeskStatus(status) not in CANCELLABLE:
        return f"This screening is already {_words(status)}; it cannot be cancelled."
    if starts_at <= now:
        return "This screening has already started; mark it attended or a no-show."
    return None


def move_desk_status(
    session: Session, settings: Settings, booking_id: int, new: DeskStatus, *, now: datetime
) -> Booking:
    """Confirm a screening, or record whether the patient came; DeskRefused if not allowed.

    A no-show may start a recovery campaign (its sending timed by `settings`)."""
    booking, starts_at = _locked(session, booking_id)
    refusal = _move_refusal(desk_label(booking), starts_at, new, now)
    if refusal is not None:
        raise DeskRefused(refusal)
    booking.desk_status, booking.desk_status_at = new, now
    session.flush()
    if new is DeskStatus.NO_SHOW:
        lead_event(session, settings, booking.lead_id, "no_show", now)
    return booking


def cancel_screening(
    session: Session, settings: Settings, booking_id: int, *, now: datetime
) -> Booking:
    """Cancel for the patient (who is told, as if they had cancelled); DeskRefused if too late."""
    booking, starts_at = _locked(session, booking_id)
    refusal = _cancel_refusal(desk_label(booking), starts_at, now)
    if refusal is not None:
        raise DeskRefused(refusal)
    return cancel_booking(session, settings, booking.id, source=CANCEL_SOURCE, now=now)


def _words(status: str) -> str:
    return "a no-show" if status == DeskStatus.NO_SHOW else status


@dataclass(frozen=True, slots=True)
class Screening:
    """One line of the front desk's list."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime | None
    status: str  # desk_label()
    first_name: str
    lead_public_id: str
    calendar_sequence: int

    def can(self, move: DeskStatus, now: datetime) -> bool:
        """Whether the page should offer `move` for this screening now."""
        return _move_refusal(self.status, self.starts_at, move, now) is None

    def can_cancel(self, now: datetime) -> bool:
        """Whether the page should offer to cancel it now."""
        return _cancel_refusal(self.status, self.starts_at, now) is None


@dataclass(frozen=True, slots=True)
class ScreeningDay:
    day: date
    screenings: list[Screening]


def screenings_between(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    include_cancelled: bool = True,
    location_ids: Collection[int] | None = None,
) -> list[Screening]:
    """The screenings starting in [start, end), in time order, with the lead's first name
    (only those at `location_ids` when given)."""
    query = (
        select(Booking, Lead.first_name, Lead.public_id)
        .join(Lead, Lead.id == Booking.lead_id)
        .where(Booking.starts_at >= start, Booking.starts_at < end)
        .order_by(Booking.starts_at, Booking.id)
    )
    if not include_cancelled:
        query = query.where(Booking.status != BookingStatus.CANCELLED)
    if location_ids is not None:
        query = query.where(Booking.location_id.in_(location_ids))
    screenings = []
    for booking, first_name, public_id in session.execute(query):
        assert booking.starts_at is not None  # the range filter leaves only timed bookings
        screenings.append(
            Screening(
                booking_id=booking.id,
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                status=desk_label(booking),
                first_name=first_name,
                lead_public_id=public_id,
                calendar_sequence=booking.calendar_sequence,
            )
        )
    return screenings


def day_bounds(first: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight at the start of `first` and `days` days later, in the clinic's zone."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=days), time(0), tzinfo=zone)
    return start, end


def screenings_by_day(
    session: Session,
    first: date,
    days: int,
    zone: ZoneInfo,
    location_ids: Collection[int] | None = None,
) -> list[ScreeningDay]:
    """Each clinic day from `first` for `days` days (empty ones too), its screenings in order."""
    start, end = day_bounds(first, days, zone)
    grouped: dict[date, list[Screening]] = {first + timedelta(days=n): [] for n in range(days)}
    for screening in screenings_between(session, start, end, location_ids=location_ids):
        grouped[screening.starts_at.astimezone(zone).date()].append(screening)
    return [ScreeningDay(day, screenings) for day, screenings in grouped.items()]
