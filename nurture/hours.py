"""Sending hours and frequency caps as settings spell them, parsed and checked with the
standard library alone: the settings object, the clinic settings page and a campaign
file all validate with these, so none of them needs the database models to start.

A window is [start, end) local time on the listed weekdays. The sending hours are the
hours messages *may* go (08:00-21:00 for texts: the law's window, which a clinic may
only narrow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

ALL_DAYS = frozenset(range(7))
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([hd])\s*$")


@dataclass(frozen=True, slots=True)
class SendWindow:
    start: time
    end: time
    days: frozenset[int] = ALL_DAYS  # Monday is 0

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


# The widest hours any text may go out, in the lead's local time (TCPA and state rules).
SMS_LEGAL_HOURS = SendWindow(time(8, 0), time(21, 0))


def parse_hours(text: str) -> SendWindow:
    """'08:00-21:00' -> a daily window; ValueError names the expected form."""
    match = _HOURS.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time range like 08:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r} is not a time range like 08:00-21:00")
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise ValueError(f"{text!r}: the start must be before the end")
    return SendWindow(start, end)


def _hours(value: str) -> SendWindow:
    try:
        return parse_hours(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("'", "")) from None


def sms_sending_hours(value: str) -> str:
    """When texts may go, local time: inside the legal 08:00-21:00 window, never wider."""
    if not value.strip():
        raise ValueError(f"texts need a window; the widest allowed is {SMS_LEGAL_HOURS.label()}")
    window = _hours(value)
    if window.start < SMS_LEGAL_HOURS.start or window.end > SMS_LEGAL_HOURS.end:
        raise ValueError(
            f"{window.label()} reaches outside {SMS_LEGAL_HOURS.label()}, "
            "the hours the law allows texts"
        )
    return window.label()


def email_sending_hours(value: str) -> str:
    """When emails may go, local time; empty means at any hour."""
    return _hours(value).label() if value.strip() else ""


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    count: int
    period: timedelta

    @classmethod
    def parse(cls, text: str) -> FrequencyCap:
        """'1/24h' or '3/7d' -> at most that many messages per rolling period."""
        match = _CAP.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a cap like 1/24h or 3/7d")
        count, amount, unit = int(match[1]), int(match[2]), match[3]
        period = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
        if count < 1 or period <= timedelta(0):
            raise ValueError(f"{text!r}: count and period must be positive")
        return cls(count, period)

    def release(self, nth_most_recent: datetime | None) -> datetime | None:
        """When the next message may go, given the count-th most recent hand-off inside
        the period (None when there are fewer than `count`): it ages out of the period."""
        return None if nth_most_recent is None else nth_most_recent + self.period
