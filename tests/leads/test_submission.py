from __future__ import annotations

import pytest
from pydantic import ValidationError

from nurture.leads.submission import LeadSubmission


def errors(**fields: object) -> dict[str, str]:
    data = {"article": "a", "first_name": "Dana", "email": "dana@example.com"}
    data["consent"] = {"email": True}
    data.update(fields)
    with pytest.raises(ValidationError) as error:
        LeadSubmission.model_validate(data)
    return {".".join(map(str, e["loc"])): e["msg"] for e in error.value.errors()}


def test_phone_is_normalised_to_e164() -> None:
    submission = LeadSubmission(
        article="a",
        first_name="Dana",
        email="Dana@Example.COM",
        phone="(217) 555-0199",
        consent={"email": True, "sms": True},
    )
    assert submission.phone == "+12175550199"
    assert submission.email == "dana@example.com"


def test_each_bad_field_is_named() -> None:
    assert "email" in errors(email="not-an-email")
    assert "phone" in errors(phone="12")
    assert "timezone" in errors(timezone="Mars/Olympus")
    assert "first_name" in errors(first_name="  ")
    assert "consent" in errors(consent={"email": False})


def test_sms_consent_without_a_phone_is_refused() -> None:
    assert (
        "text messages need a valid mobile number"
        in errors(consent={"email": True, "sms": True})["consent"]
    )
