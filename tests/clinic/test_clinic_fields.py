"""Checking clinic settings as staff type them: each refusal says what is wrong."""

from __future__ import annotations

import pytest

from nurture.clinic import fields


def test_phone_typed_the_us_way_is_stored_in_e164() -> None:
    assert fields.clinic_phone("(217) 555-0142") == "+12175550142"
    assert fields.clinic_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("typed", ["", "call us", "555-0142", "+1 000 000 0000"])
def test_a_phone_that_cannot_be_dialled_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        fields.clinic_phone(typed)


def test_time_zone_must_be_a_real_iana_zone() -> None:
    assert fields.clinic_timezone(" America/Denver ") == "America/Denver"
    with pytest.raises(ValueError, match="'America/Springfield' is not a known time zone"):
        fields.clinic_timezone("America/Springfield")


def test_sms_sending_hours_may_narrow_the_legal_window_but_never_widen_it() -> None:
    assert fields.sms_sending_hours("9:30-20:00") == "09:30-20:00"
    assert fields.sms_sending_hours("08:00-21:00") == "08:00-21:00"
    for wider in ("07:30-21:00", "08:00-21:30", "06:00-23:00"):
        with pytest.raises(ValueError, match="outside 08:00-21:00"):
            fields.sms_sending_hours(wider)
    with pytest.raises(ValueError, match="texts need a window"):
        fields.sms_sending_hours("  ")


def test_email_sending_hours_are_optional_but_must_parse_when_given() -> None:
    assert fields.email_sending_hours("") == ""
    assert fields.email_sending_hours("7:00-22:00") == "07:00-22:00"
    with pytest.raises(ValueError, match="start must be before the end"):
        fields.email_sending_hours("22:00-07:00")
    with pytest.raises(ValueError, match="not a time range"):
        fields.email_sending_hours("evenings")


def test_name_and_address_are_single_trimmed_lines_and_never_empty() -> None:
    assert fields.clinic_name("  Oak   Street PT ") == "Oak Street PT"
    with pytest.raises(ValueError, match="cannot be empty"):
        fields.clinic_address("   ")
    with pytest.raises(ValueError, match="at most 100 characters"):
        fields.clinic_name("x" * 101)
    with pytest.raises(ValueError, match="control character"):
        fields.clinic_name("Oak\u200bStreet")
