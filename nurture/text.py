"""Small helpers for what people read: counts with their nouns, moments in their zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def counted(number: int, noun: str, plural: str = "") -> str:
    """'1 enrollment', '4 enrollments' (`plural` for nouns that do not just add an s)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'Mon 2 Nov 09:00 CST': the reader's calendar, with the zone's abbreviation."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"
