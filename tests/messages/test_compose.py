"""What a lead actually receives: parts, footer, unsubscribe, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nurture.campaigns.definition import CampaignDefinition
from nurture.config import Settings, get_settings
from nurture.leads.models import Lead
from nurture.links import read_token
from nurture.messages.compose import compose_email, compose_sms
from nurture.messages.segments import count_segments


def lead(first_name: str = "Dana") -> Lead:
    return Lead(
        id=1,
        public_id="0" * 32,
        email="dana@example.com",
        first_name=first_name,
        phone="+12175550199",
        source="test",
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
    )


def test_email_has_text_and_html_parts_address_and_one_click_unsubscribe(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    step = seeded_definition.spec.steps[0]
    email = compose_email(settings, lead(), seeded_definition, step, "ref123")
    assert email.subject == "Dana, here is your guide to tight hamstrings"
    for part in (email.text, email.html):
        assert settings.clinic_address in part
        assert "/articles/tight-hamstrings-sciatic-nerve/read" in part
    url = email.headers["List-Unsubscribe"].strip("<>")
    assert url in email.text and url in email.html
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = url.rsplit("/", 1)[1]
    assert read_token(settings, "unsubscribe", token) == {"lead": "0" * 32, "channel": "email"}


def test_links_and_headers_carry_no_personal_data(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    email = compose_email(
        settings, lead(), seeded_definition, seeded_definition.spec.steps[-1], "r"
    )
    urls = [u for u in email.text.split() if u.startswith(("http", "(http"))]
    assert urls
    for url in urls:
        assert "dana" not in url.lower() and "2175550199" not in url


def test_hostile_first_name_is_escaped_in_html_and_not_turned_into_a_link(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    name = "<script>x</script>[win](https://evil.example)"
    email = compose_email(
        settings, lead(name), seeded_definition, seeded_definition.spec.steps[0], "r"
    )
    assert "<script>" not in email.html
    assert 'href="https://evil.example"' not in email.html
    assert name in email.text


def test_every_seeded_sms_fits_two_gsm_segments_for_a_typical_lead(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    for step in seeded_definition.spec.steps:
        if step.channel.value == "sms":
            sms, _ = compose_sms(settings, lead("Christabelle"), seeded_definition, step, "r")
            count = count_segments(sms.body)
            assert count.encoding == "GSM-7" and count.segments <= 2, (step.key, count)
            assert sms.body.startswith(settings.clinic_name)


def test_texts_ask_twilio_for_delivery_reports_at_a_url_without_personal_data(
    monkeypatch: pytest.MonkeyPatch, seeded_definition: CampaignDefinition
) -> None:
    monkeypatch.setenv("SMS_CHANNEL", "twilio")
    get_settings.cache_clear()
    step = next(s for s in seeded_definition.spec.steps if s.channel.value == "sms")
    sms, _ = compose_sms(get_settings(), lead(), seeded_definition, step, "ref1")
    assert sms.status_callback == "https://care.example.test/webhooks/twilio/status"


def test_plain_text_booking_links_open_for_every_lead(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    # Signed tokens are URL-safe base64, so about one in ten holds two underscores,
    # which the Markdown-to-text step once read as emphasis and cut out.
    invitation = seeded_definition.spec.steps[-1]
    for number in range(60):
        someone = lead()
        someone.public_id = f"{number:032x}"
        email = compose_email(settings, someone, seeded_definition, invitation, "r")
        booking = [u.strip("()") for u in email.text.split() if "/book/" in u]
        assert booking, email.text
        for url in booking:
            assert url in email.html
            token = url.rsplit("/", 1)[1]
            assert read_token(settings, "book", token)["lead"] == someone.public_id


def test_plain_text_keeps_underscores_inside_words(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    email = compose_email(
        settings, lead("Mary_Ann"), seeded_definition, seeded_definition.spec.steps[0], "r"
    )
    assert "Mary_Ann" in email.text
