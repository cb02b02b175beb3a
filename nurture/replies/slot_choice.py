"""Read a screening time out of a reply: "2", "Tue 3pm", "tomorrow morning", "3:30".

Everything is read in the lead's own zone, relative to now; the result is a
predicate over slot start times, never a booking by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "weds": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
# Parts of the day as people use them when booking an appointment.
PARTS = {
    "morning": (time(0), time(12)),
    "am": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "pm": (time(12), time(23, 59)),
    "evening": (time(17), time(23, 59)),
    "tonight": (time(17), time(23, 59)),
    "noon": None,
    "midday": None,
}
ORDINALS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9,
            "one": 1, "two": 2, "three": 3, "first": 1, "second": 2, "third": 3,
            "1st": 1, "2nd": 2, "3rd": 3}  # fmt: skip

_NUMBER_REPLY = re.compile(
    r"^(?:the\s+)?(?:#|no\.?\s*|number\s+|option\s+|opt\s+|slot\s+)?"
    r"(\d|one|two|three|first|second|third|1st|2nd|3rd)"
    r"(?:\s+(?:one|option|slot|please|pls|thanks|thank you|works|is good|is fine|is great))*$"
)
_CLOCK = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|a|p)(?![a-z])|\b(\d{1,2}):(\d{2})\b"
    r"|\bat\s+(\d{1,2})\b(?!\s*(?:st|nd|rd|th)\b)|\b(\d{1,2})\s*o'?\s*clock\b"
)
_MONTH_DAY = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})\b")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class SlotChoice:
    """What a reply asked for: an option number, or a day and/or a time of day."""

    number: int | None = None  # 1-based position in the last offer
    day: date | None = None
    at: time | None = None  # an exact start, in the lead's zone
    after: time | None = None  # a part of the day: after <= start < before
    before: time | None = None

    def matches(self, local_start: datetime) -> bool:
        """Whether a slot starting at `local_start` (in the lead's zone) fits."""
        if self.day is not None and local_start.date() != self.day:
            return False
        start = local_start.time().replace(second=0, microsecond=0)
        if self.at is not None and start != self.at:
            return False
        return not (
            self.after is not None
            and self.before is not None
            and not (self.after <= start < self.before)
        )

    def window(self, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime | None]:
        """Where open slots that fit can start: (from, until), aware UTC."""
        if self.day is None:
            return now, None
        first = self.at or self.after or time(0)
        start = datetime.combine(self.day, first, zone)
        end = datetime.combine(self.day + timedelta(days=1), time(0), zone)
        if self.at is not None:
            end = start + timedelta(minutes=1)
        elif self.before is not None and self.before != time(23, 59):
            end = datetime.combine(self.day, self.before, zone)
        return max(start.astimezone(now.tzinfo), now), end.astimezone(now.tzinfo)


def clock_text(text: str) -> str:
    """Lower-case text keeping what times are written with (':', '.', apostrophes)."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(\d)\.(\d\d)\b", r"\1:\2", text)  # 3.30pm
    return re.sub(r"[^\w\s:'./#]", " ", text)


def _hour(hour: int, minute: int, meridiem: str | None) -> time | None:
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        pm = meridiem.startswith("p")
        return time(hour % 12 + (12 if pm else 0), minute)
    if hour > 23:
        return None
    # No am/pm: a clinic's screening hours are daytime, so "3:30" is the afternoon.
    if 1 <= hour <= 7:
        hour += 12
    return time(hour, minute)


def _time_of(text: str) -> time | None:
    match = _CLOCK.search(text)
    if match is None:
        return None
    g = match.groups()
    if g[0] is not None:
        return _hour(int(g[0]), int(g[1] or 0), g[2])
    if g[3] is not None:
        return _hour(int(g[3]), int(g[4]), None)
    return _hour(int(g[5] or g[6]), 0, None)


def _next_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _calendar_day(text: str, today: date) -> date | None:
    for pattern, month_first in ((_MONTH_DAY, True), (_DAY_MONTH, False)):
        for match in pattern.finditer(text):
            name, number = (match[1], match[2]) if month_first else (match[2], match[1])
            if name in MONTHS:
                return _next_date(today, MONTHS[name], int(number))
    numeric = _NUMERIC_DATE.search(text)
    if numeric:  # US style: month/day
        return _next_date(today, int(numeric[1]), int(numeric[2]))
    return None


def _day_of(words: list[str], text: str, today: date) -> tuple[date | None, bool]:
    """The day named, and whether it was a weekday name (which may mean next week)."""
    explicit = _calendar_day(text, today)
    if explicit is not None:
        return explicit, False
    if "today" in words or "tonight" in words:
        return today, False
    if "tomorrow" in words or "tmrw" in words or "tmr" in words:
        return today + timedelta(days=1), False
    for word in words:
        if word in WEEKDAYS:
            return today + timedelta(days=(WEEKDAYS[word] - today.weekday()) % 7), True
    return None, False


def _part_of(words: list[str]) -> tuple[time | None, time | None, time | None]:
    """(exact time, after, before) for words like "noon" or "afternoon"."""
    for word in words:
        if word in ("noon", "midday"):
            return time(12), None, None
        span = PARTS.get(word)
        if span is not None:
            return None, span[0], span[1]
    return None, None, None


def parse_choice(text: str, now: datetime, zone: ZoneInfo, offered: int) -> SlotChoice | None:
    """The slot a reply points at, or None when it names no option, day or time.

    A bare number is an option only while an offer of that many slots is open.
    """
    cleaned = " ".join(clock_text(text).replace("#", " # ").split()).strip(" .'")
    number = _NUMBER_REPLY.match(cleaned.replace("# ", "#"))
    if number:
        return SlotChoice(number=ORDINALS[number[1]]) if offered else None
    words = _WORD.findall(cleaned)
    today = now.astimezone(zone).date()
    day, weekday = _day_of(words, cleaned, today)
    at = _time_of(cleaned)
    exact, after, before = _part_of(words)
    at = at or exact
    if day is None and at is None and after is None:
        return None
    if day is not None and weekday and day == today:
        # "Tue 3pm" said on a Tuesday after 3pm means next Tuesday.
        latest = at or before or time(23, 59)
        if datetime.combine(day, latest, zone) <= now:
            day += timedelta(days=7)
    if at is not None:
        after = before = None
    return SlotChoice(day=day, at=at, after=after, before=before)
