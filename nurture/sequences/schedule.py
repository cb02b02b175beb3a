"""The scheduling maths shared by the dispatcher, the gate and `campaigns timeline`.

A step is due at enrollment + delay, moved forward to the first moment inside every
window that applies to it (the step's own window, and the sending hours for SMS), in the
lead's local time. Windows are [start, end) on the listed weekdays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nurture.hours import SendWindow

# Searching further than this means the windows never overlap: validation refuses
# such campaigns, so reaching the limit is a bug, not a quiet skip.
SEARCH_DAYS = 15


class NoSendableTime(ValueError):
    """The windows never open together (an invalid campaign)."""


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    # fold=0 takes the first of a repeated hour; a skipped hour (spring forward)
    # normalises forward through the UTC round trip.
    naive = datetime.combine(day, moment)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def next_allowed(at: datetime, zone: ZoneInfo, windows: Iterable[SendWindow]) -> datetime:
    """The earliest instant >= `at` that falls inside every window, in `zone`."""
    windows = tuple(windows)
    if not windows:
        return at
    local_at = at.astimezone(zone)
    for offset in range(SEARCH_DAYS):
        day = local_at.date() + timedelta(days=offset)
        if any(day.weekday() not in w.days for w in windows):
            continue
        start = max(w.start for w in windows)
        end = min(w.end for w in windows)
        if start >= end:
            break
        opens, closes = _local(day, start, zone), _local(day, end, zone)
        if local_at < closes:
            return max(local_at, opens).astimezone(UTC)
    raise NoSendableTime(f"no time within {SEARCH_DAYS} days fits {[w.label() for w in windows]}")


def is_allowed(at: datetime, zone: ZoneInfo, windows: Iterable[SendWindow]) -> bool:
    """Whether `at` itself is inside every window."""
    return next_allowed(at, zone, windows) == at.astimezone(UTC)
