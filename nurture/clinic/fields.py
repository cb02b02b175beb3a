"""Checking each clinic setting as staff type it; every error says what is wrong with it.

Each function takes the typed text and returns the value as it is stored, or raises
ValueError. The sending hours are checked by nurture.hours (the settings object uses
the same checks): SMS hours may only narrow the legal window, never widen it.
"""

from __future__ import annotations

import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from nurture.hours import email_sending_hours, sms_sending_hours

NAME_MAX = 100
ADDRESS_MAX = 300
# The zones a US clinic picks from; any other valid IANA zone is still accepted.
US_ZONES = (
    "America/New_York",
    "America/Detroit",
    "America/Indiana/Indianapolis",
    "America/Kentucky/Louisville",
    "America/Chicago",
    "America/Indiana/Knox",
    "America/Menominee",
    "America/North_Dakota/Center",
    "America/Denver",
    "America/Boise",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Juneau",
    "America/Adak",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
)


def _one_line(value: str, limit: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError("it cannot be empty")
    if len(text) > limit:
        raise ValueError(f"at most {limit} characters, not {len(text)}")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise ValueError("it contains a control character")
    return text


def clinic_name(value: str) -> str:
    """The name patients see in every message and page (and the email From name)."""
    return _one_line(value, NAME_MAX)


def clinic_address(value: str) -> str:
    """The postal address every email must carry (CAN-SPAM)."""
    return _one_line(value, ADDRESS_MAX)


def clinic_phone(value: str) -> str:
    """A dialable number in E.164 form; a number without a country code is taken as US."""
    try:
        number = phonenumbers.parse(value.strip(), "US")
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value.strip()!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value.strip()!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clinic_timezone(value: str) -> str:
    """An IANA time zone name, such as America/Chicago."""
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone") from None
    return name


__all__ = [
    "clinic_address",
    "clinic_name",
    "clinic_phone",
    "clinic_timezone",
    "email_sending_hours",
    "sms_sending_hours",
]
