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
    email, links = compose_email(settings, lead(), seeded_definition, step, "ref123")
    assert email.subject == "Dana, here is your guide to tight hamstrings"
    [article] = [link for link in links if link.name == "article"]
    assert article.target is not None
    assert article.target.endswith("/articles/tight-hamstrings-sciatic-nerve/read")
    for part in (email.text, email.html):
        assert settings.clinic_address in part
        # The guide is linked through the email's own short link, which counts the click.
        assert article.url(settings) in part and article.target not in part
    url = email.headers["List-Unsubscribe"].strip("<>")
    assert url in email.text and url in email.html
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = url.rsplit("/", 1)[1]
    assert read_token(settings, "unsubscribe", token) == {"lead": "0" * 32, "channel": "email"}


def test_links_and_headers_carry_no_personal_data(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    email, _ = compose_email(
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
    email, _ = compose_email(
        settings, lead(name), seeded_definition, seeded_definition.spec.steps[0], "r"
    )
    assert "<script>" not in email.html
    assert 'href="https://evil.example"' not in email.html
    assert name in email.text


def test_every_seeded_sms_fits_two_gsm_segments_for_a_typical_lead(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    for step in seeded_definition.spec.steps:
        if step.channel.value == "sms" and step.task is None:  # a task's note is no text
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


def test_every_emails_booking_link_is_its_own_short_link_in_both_parts(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    # The HTML is parsed once per step with marks where each message's links go: every
    # message must still get its own link, whole, in the text and the HTML part.
    invitation = seeded_definition.spec.steps[-1]
    seen = set()
    for number in range(60):
        email, links = compose_email(settings, lead(), seeded_definition, invitation, f"r{number}")
        [book] = [link for link in links if link.name == "book"]
        assert book.target is None  # the booking page's token is signed when it is followed
        assert book.url(settings) in email.text and book.url(settings) in email.html
        assert "/book/" not in email.text
        seen.add(book.code)
    assert len(seen) == 60


def test_unsubscribe_and_preferences_links_stay_direct(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    email, links = compose_email(
        settings, lead(), seeded_definition, seeded_definition.spec.steps[-1], "r"
    )
    unsubscribe = email.headers["List-Unsubscribe"].strip("<>")
    assert "/r/" not in unsubscribe
    assert read_token(settings, "unsubscribe", unsubscribe.rsplit("/", 1)[1])["lead"] == "0" * 32
    assert f"Unsubscribe: {unsubscribe}" in email.text
    assert {link.name for link in links} <= {"article", "book"}


def test_plain_text_keeps_underscores_inside_words(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    email, _ = compose_email(
        settings, lead("Mary_Ann"), seeded_definition, seeded_definition.spec.steps[0], "r"
    )
    assert "Mary_Ann" in email.text
