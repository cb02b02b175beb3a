"""How a screening time reads to a person: their own calendar, with the zone's abbreviation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class When:
    """A moment as words in one zone: 'Tuesday, November 3', '10:00 AM', 'CST'."""

    day: str
    short_day: str
    time: str
    zone: str

    @property
    def full(self) -> str:
        """'Tuesday, November 3 at 10:00 AM CST'."""
        return f"{self.day} at {self.time} {self.zone}"

    @property
    def short(self) -> str:
        """'Tue Nov 3, 10:00 AM CST' (for text messages)."""
        return f"{self.short_day}, {self.time} {self.zone}"

    def __str__(self) -> str:
        return self.full


def when(moment: datetime, zone: ZoneInfo) -> When:
    """`moment` as words in `zone`."""
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    return When(
        day=f"{local:%A, %B} {local.day}",
        short_day=f"{local:%a %b} {local.day}",
        time=f"{hour}:{local:%M %p}",
        zone=local.tzname() or zone.key,
    )
