"""How a screening time reads to a person: a calendar day and a clock with the zone's
abbreviation; on the booking pages the clinic's clock, since the visit is in person."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class When:
    """A moment as words in one zone: 'Tuesday, November 3', '10:00 AM', 'CST'."""

    day: str
    short_day: str
    time: str
    zone: str
    # The same moment where the lead lives, when their clock differs: "11:00 AM EST".
    theirs: str = ""

    @property
    def clock(self) -> str:
        """'10:00 AM CST', or '10:00 AM CST (11:00 AM EST your time)'."""
        mine = f"{self.time} {self.zone}"
        return f"{mine} ({self.theirs} your time)" if self.theirs else mine

    @property
    def full(self) -> str:
        """'Tuesday, November 3 at 10:00 AM CST' (and the lead's own time, if it differs)."""
        return f"{self.day} at {self.clock}"

    @property
    def short(self) -> str:
        """'Tue Nov 3, 10:00 AM CST' (for text messages)."""
        return f"{self.short_day}, {self.time} {self.zone}"

    def __str__(self) -> str:
        return self.full


def _clock(local: datetime) -> str:
    return f"{local.hour % 12 or 12}:{local:%M %p}"


def when(moment: datetime, zone: ZoneInfo) -> When:
    """`moment` as words in `zone`."""
    local = moment.astimezone(zone)
    return When(
        day=f"{local:%A, %B} {local.day}",
        short_day=f"{local:%a %b} {local.day}",
        time=_clock(local),
        zone=local.tzname() or zone.key,
    )


def at_clinic(moment: datetime, clinic_zone: ZoneInfo, lead_zone: ZoneInfo) -> When:
    """An in-person visit's time on the clinic's clock, with the lead's when it differs."""
    words = when(moment, clinic_zone)
    ours, theirs = moment.astimezone(clinic_zone), moment.astimezone(lead_zone)
    if theirs.utcoffset() == ours.utcoffset():
        return words
    # Far enough away, it is another day there: say which.
    day = f"{theirs:%a} " if theirs.date() != ours.date() else ""
    return replace(words, theirs=f"{day}{_clock(theirs)} {theirs.tzname() or lead_zone.key}")
