"""Small helpers for what people read: counts with their nouns."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str = "") -> str:
    """'1 enrollment', '4 enrollments' (`plural` for nouns that do not just add an s)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
