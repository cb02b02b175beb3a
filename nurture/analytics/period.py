"""The enrolment period results cover: leads enrolled on or after `since`, before `until`.

Dates are the clinic's calendar days, so "1 November" starts at midnight where the
clinic is, whatever zone the reader or the server is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")


class PeriodError(ValueError):
    """Typed dates that cannot be used: what is wrong, by the name of the input."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Period:
    """Enrolled in [since, until): either end may be open; and, for a group of clinics,
    only the leads of one location when `location_id` is set."""

    since: date | None = None
    until: date | None = None
    zone: ZoneInfo = UTC_ZONE
    location_id: int | None = None

    def start(self) -> datetime | None:
        """The first enrolment moment counted (UTC), or None for no lower bound."""
        return _midnight(self.since, self.zone)

    def end(self) -> datetime | None:
        """The first enrolment moment no longer counted (UTC), or None for no upper bound."""
        return _midnight(self.until, self.zone)

    def rolled_up(self) -> bool:
        """Whether the hourly rollup can answer for this period: it counts every location
        together, on whole UTC hours (nurture.analytics.rollup)."""
        return self.location_id is None and self.on_whole_hours()

    def on_whole_hours(self) -> bool:
        """Whether both ends fall on a whole UTC hour, so hourly counts add up to it exactly.

        Midnight in a zone whose UTC offset is a whole number of hours (every US zone)
        is a whole UTC hour; in India (+05:30) or Nepal (+05:45) it is not.
        """
        return all(
            moment is None or (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)
            for moment in (self.start(), self.end())
        )

    def describe(self) -> str:
        """'enrolled from 2 Nov 2026, before 9 Nov 2026', for headings and exports."""
        if self.since is None and self.until is None:
            return "all enrolments"
        parts = []
        if self.since is not None:
            parts.append(f"from {_day(self.since)}")
        if self.until is not None:
            parts.append(f"before {_day(self.until)}")
        return "enrolled " + ", ".join(parts)


def _midnight(day: date | None, zone: ZoneInfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _parse_day(text: str | None) -> date | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not a date; use YYYY-MM-DD") from None


def parse_period(
    since: str | None, until: str | None, zone: ZoneInfo, *, names: tuple[str, str]
) -> Period:
    """The period from two typed YYYY-MM-DD dates (blank: open); `names` name them in errors."""
    days: list[date | None] = []
    problems: dict[str, str] = {}
    for name, text in zip(names, (since, until), strict=True):
        try:
            days.append(_parse_day(text))
        except ValueError as exc:
            problems[name] = str(exc)
            days.append(None)
    start, end = days
    if start is not None and end is not None and end <= start:
        problems[names[1]] = f"must be later than {names[0]} (the period ends before it)"
    if problems:
        raise PeriodError(problems)
    return Period(start, end, zone)
