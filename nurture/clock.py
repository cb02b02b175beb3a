"""Every "now" in the product comes from here.

`NURTURE_TIME_SCALE` > 1 runs a virtual clock: one anchor row in the database says
which real instant maps to which virtual one, so web, worker and beat processes on
different machines agree on the accelerated time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Float, Integer, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from nurture.db import Base, upsert_insert


def utcnow() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


# The span of times anything in the product is scheduled or booked in. Outside it a typed
# or posted time is refused, never converted: 9999-12-31T23:59:59-14:00 is a valid ISO
# 8601 string whose UTC moment does not fit in a datetime.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def in_calendar(moment: datetime) -> datetime | None:
    """`moment` as aware UTC when it falls in the product's calendar, else None."""
    if moment.tzinfo is None:
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        return None
    return moment if EARLIEST <= moment < LATEST else None


def parse_moment(text: str) -> datetime | None:
    """An ISO 8601 time with its offset as aware UTC; None for anything else."""
    try:
        return in_calendar(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return utcnow()


class ScaledClock:
    """Virtual time that runs `scale` times faster than real time from an anchor."""

    def __init__(self, real_anchor: datetime, virtual_anchor: datetime, scale: float) -> None:
        self.real_anchor = real_anchor
        self.virtual_anchor = virtual_anchor
        self.scale = scale

    def now(self) -> datetime:
        return self.virtual_anchor + (utcnow() - self.real_anchor) * self.scale


class ManualClock:
    """A clock that moves only when told: tests and the demo's rehearsal."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ClockAnchor(Base):
    """The shared origin of the accelerated clock (a single row)."""

    __tablename__ = "clock_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    real_anchor: Mapped[datetime]
    virtual_anchor: Mapped[datetime]
    scale: Mapped[float] = mapped_column(Float)


def anchored_clock(factory: sessionmaker[Session], scale: float) -> Clock:
    """A clock for this process: real time, or the database-anchored scaled clock."""
    if scale == 1:
        return SystemClock()
    real = utcnow()
    with factory.begin() as session:
        # Several processes may start at once on a fresh database: the first insert wins.
        session.execute(
            upsert_insert(session)(ClockAnchor)
            .values(id=1, real_anchor=real, virtual_anchor=real, scale=scale)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        anchor = session.scalars(select(ClockAnchor).where(ClockAnchor.id == 1)).one()
        if anchor.scale != scale:
            # A scale change continues virtual time from where it is: nothing jumps back.
            virtual = ScaledClock(anchor.real_anchor, anchor.virtual_anchor, anchor.scale).now()
            anchor.real_anchor, anchor.virtual_anchor, anchor.scale = real, virtual, scale
        return ScaledClock(anchor.real_anchor, anchor.virtual_anchor, anchor.scale)
