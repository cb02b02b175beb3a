from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.consent.models import ConsentEvent
from nurture.consent.wording import WORDING
from nurture.leads import capture as lead_capture
from nurture.leads.capture import CaptureResult
from nurture.leads.models import Lead
from nurture.leads.submission import LeadSubmission
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import ARTICLE
from tests.support import Database
from tests.web.page_parsing import form_fields, text_by_id

DOWNLOAD = f"/articles/{ARTICLE}/download"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
GOOD = {
    "first_name": "Dana",
    "email": "Dana@Example.com",
    "phone": "(217) 555-0199",
    "timezone": "America/Denver",
    "consent_email": "yes",
    "consent_sms": "yes",
}


def rows(db: Database, model: type[object]) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_download_stores_the_lead_its_consent_evidence_and_enrollment(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    response = client.post(DOWNLOAD, data=GOOD, headers={"User-Agent": BROWSER})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/articles/{ARTICLE}/read?welcome=")
    with db.factory() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.email, lead.first_name, lead.phone, lead.timezone) == (
            "dana@example.com",
            "Dana",
            "+12175550199",
            "America/Denver",
        )
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.channel)).all()
        assert [(e.channel, e.action, e.wording_version) for e in events] == [
            ("email", "granted", WORDING[Channel.EMAIL].version),
            ("sms", "granted", WORDING[Channel.SMS].version),
        ]
        for event in events:
            assert event.source == f"form:{ARTICLE}"
            assert event.ip == "testclient"
            assert event.user_agent == BROWSER
            assert event.occurred_at == clock.now()
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.lead_id, enrollment.campaign_id) == (lead.id, campaign)
        assert enrollment.status == EnrollmentStatus.ACTIVE
        assert enrollment.next_due_at == clock.now()


def test_download_lands_on_the_article_with_a_thank_you(client: TestClient, campaign: int) -> None:
    response = client.post(DOWNLOAD, data=GOOD, follow_redirects=True)
    assert response.status_code == 200
    assert f"/articles/{ARTICLE}/read?welcome=" in str(response.url)
    assert "Thank you!" in response.text


def test_the_thank_you_page_offers_the_lead_their_own_booking_page(
    client: TestClient, db: Database, campaign: int
) -> None:
    thanks = client.post(DOWNLOAD, data=GOOD, follow_redirects=True)
    link = re.search(r'href="(/book/[^"]+)">Book a free screening</a>', thanks.text)
    assert link is not None, thanks.text
    booking = client.get(link.group(1))
    assert booking.status_code == 200
    assert "Dana" in booking.text


@pytest.mark.parametrize("welcome", ["1", "forged.token.here", ""])
def test_a_thank_you_page_without_a_valid_token_offers_no_booking_link(
    client: TestClient, welcome: str
) -> None:
    page = client.get(f"/articles/{ARTICLE}/read?welcome={welcome}")
    assert page.status_code == 200
    assert "/book/" not in page.text


def test_a_bot_that_fills_the_hidden_field_sees_success_and_nothing_is_stored(
    client: TestClient, db: Database, campaign: int
) -> None:
    page = client.get(f"/articles/{ARTICLE}")
    assert 'name="website"' in page.text and 'tabindex="-1"' in page.text
    response = client.post(DOWNLOAD, data={**GOOD, "website": "http://spam.example"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/articles/{ARTICLE}/read?welcome=1"
    assert rows(db, Lead) == 0 and rows(db, ConsentEvent) == 0 and rows(db, Enrollment) == 0


def test_too_many_sign_ups_from_one_address_are_asked_to_wait_and_not_stored(
    app: FastAPI, client: TestClient, db: Database, settings: Settings, campaign: int
) -> None:
    app.state.settings = settings.model_copy(update={"capture_rate_limit": "3/minute"})
    for n in range(3):
        form = {**GOOD, "email": f"dana{n}@example.com"}
        assert client.post(DOWNLOAD, data=form).status_code == 303
    refused = client.post(DOWNLOAD, data={**GOOD, "email": "dana9@example.com"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Please try again in a minute" in refused.text
    assert rows(db, Lead) == 3


def test_download_without_a_mobile_number_or_script_still_works(
    client: TestClient, db: Database, settings: Settings, campaign: int
) -> None:
    form = {"first_name": "Sam", "email": "sam@example.com", "consent_email": "on"}
    assert client.post(DOWNLOAD, data=form).status_code == 303
    with db.factory() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.phone, lead.timezone) == (None, None)
        assert session.scalars(select(ConsentEvent.channel)).all() == ["email"]
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.ACTIVE


BAD_FIELDS = [
    pytest.param("email", {"email": "dana@"}, "Email address", id="bad-email"),
    pytest.param("phone", {"phone": "555-01"}, "Mobile number", id="bad-phone"),
    pytest.param("timezone", {"timezone": "Mars/Olympus_Mons"}, "Time zone", id="bad-zone"),
    pytest.param("consent_email", {"consent_email": ""}, "Email consent", id="no-consent"),
    pytest.param("consent_sms", {"phone": ""}, "Text message consent", id="sms-no-phone"),
    pytest.param("first_name", {"first_name": "   "}, "First name", id="empty-name"),
]


@pytest.mark.parametrize(("field", "change", "label"), BAD_FIELDS)
def test_bad_field_is_named_next_to_it_and_everything_typed_is_kept(
    client: TestClient,
    db: Database,
    campaign: int,
    field: str,
    change: dict[str, str],
    label: str,
) -> None:
    typed = {**GOOD, **change}
    response = client.post(DOWNLOAD, data={k: v for k, v in typed.items() if v})
    assert response.status_code == 422
    page = response.text
    summary = text_by_id(page, "main")
    assert f"{label}: " in summary
    assert text_by_id(page, f"{field}-error").startswith("Error: ")
    assert 'aria-invalid="true"' in page
    kept = form_fields(page)
    for name in ("first_name", "email", "phone", "timezone"):
        assert kept[name] == typed[name]
    assert kept["consent_email"] is bool(typed["consent_email"])
    assert kept["consent_sms"] is bool(typed["consent_sms"])
    for model in (Lead, ConsentEvent, Enrollment):
        assert rows(db, model) == 0


def test_only_the_fields_that_are_wrong_get_an_error(client: TestClient, campaign: int) -> None:
    page = client.post(DOWNLOAD, data={**GOOD, "email": "nope", "phone": "12"}).text
    assert text_by_id(page, "email-error")
    assert text_by_id(page, "phone-error")
    # A bad number also fails the SMS consent check; one message is enough.
    for field in ("first_name", "timezone", "consent_email", "consent_sms"):
        assert f'id="{field}-error"' not in page


def test_unknown_time_zone_becomes_a_visible_field_that_can_be_cleared(
    client: TestClient, campaign: int
) -> None:
    page = client.post(DOWNLOAD, data={**GOOD, "timezone": "Mars/Olympus_Mons"}).text
    assert 'id="timezone" name="timezone" type="text" value="Mars/Olympus_Mons"' in page
    cleared = client.post(DOWNLOAD, data={**GOOD, "timezone": ""})
    assert cleared.status_code == 303


def test_download_for_unknown_article_is_not_found_and_stores_nothing(
    client: TestClient, db: Database, campaign: int
) -> None:
    response = client.post("/articles/no-such-guide/download", data=GOOD)
    assert response.status_code == 404
    assert rows(db, Lead) == 0


def test_downloading_again_does_not_enrol_twice(
    client: TestClient, db: Database, campaign: int
) -> None:
    assert client.post(DOWNLOAD, data=GOOD).status_code == 303
    again = {**GOOD, "first_name": "Danielle", "email": "dana@example.com"}
    assert client.post(DOWNLOAD, data=again).status_code == 303
    with db.factory() as session:
        assert session.scalars(select(Lead.first_name)).all() == ["Danielle"]
        assert session.scalar(select(func.count(Enrollment.id))) == 1


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{ 7*7 }}"])
def test_hostile_name_is_shown_back_literally_on_the_form(
    client: TestClient, campaign: int, name: str
) -> None:
    response = client.post(DOWNLOAD, data={**GOOD, "first_name": name, "consent_email": ""})
    assert response.status_code == 422
    assert form_fields(response.text)["first_name"] == name
    assert "<script>alert(1)" not in response.text
    assert "49" not in response.text


def test_double_clicked_download_still_lands_on_the_article(
    client: TestClient, db: Database, campaign: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_capture = lead_capture.capture_lead
    calls: list[str] = []

    def second_of_two_requests(
        session: Session,
        submission: LeadSubmission,
        evidence: Evidence,
        now: datetime,
        settings: Settings,
    ) -> CaptureResult:
        calls.append(submission.email)
        if len(calls) == 1:
            # The first click's request commits the new email; this one's insert collides.
            with db.factory.begin() as other:
                real_capture(other, submission, evidence, now, settings)
            session.add(Lead(email=submission.email, first_name="x", source="x", created_at=now))
            session.flush()
        return real_capture(session, submission, evidence, now, settings)

    monkeypatch.setattr(lead_capture, "capture_lead", second_of_two_requests)
    response = client.post(DOWNLOAD, data=GOOD)
    assert response.status_code == 303
    assert calls == ["dana@example.com", "dana@example.com"]
    assert rows(db, Lead) == 1
    assert rows(db, Enrollment) == 1


def test_download_logs_the_public_id_and_nothing_personal(
    client: TestClient, db: Database, campaign: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(DOWNLOAD, data=GOOD)
    with db.factory() as session:
        public_id = session.scalars(select(Lead.public_id)).one()
    assert public_id in caplog.text
    for personal in ("dana@example.com", "Dana", "2175550199", "testclient"):
        assert personal.lower() not in caplog.text.lower()
