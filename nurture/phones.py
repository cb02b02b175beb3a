"""Reading back the phone numbers Nurture stores (E.164, checked when they came in)."""

from __future__ import annotations

import phonenumbers


def parse_stored(phone: str | None) -> phonenumbers.PhoneNumber | None:
    """A stored number parsed, or None when there is none or it no longer parses."""
    if not phone:
        return None
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


def is_messaging_service(sender: str) -> bool:
    """Whether a Twilio sender is a Messaging Service SID (MG...) rather than a number."""
    return sender.startswith("MG")
