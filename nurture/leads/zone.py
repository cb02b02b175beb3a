"""Which time zone a lead lives in: the form's, else the phone's region, else the clinic's."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from phonenumbers import timezone as phone_timezones

from nurture.phones import parse_stored


def valid_zone(name: str | None) -> ZoneInfo | None:
    """The zone for an IANA name, or None when it is empty or unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_from_phone(phone: str | None) -> ZoneInfo | None:
    """The zone of a number's region, when the region has exactly one."""
    number = parse_stored(phone)
    if number is None:
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown"]
    return valid_zone(zones[0]) if len(zones) == 1 else None


def lead_zone(timezone: str | None, phone: str | None, clinic_zone: ZoneInfo) -> ZoneInfo:
    """The zone used for sending hours and step windows."""
    return valid_zone(timezone) or zone_from_phone(phone) or clinic_zone
