"""The preferences page: stop email, stop texts, or take a 30-day break, all without script."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.models import ConsentEvent
from nurture.leads.capture import CaptureResult
from nurture.leads.models import Lead
from nurture.links import preferences_url
from nurture.messages.models import Message
from nurture.messages.transactional import EmailContent, Notice, queue_notice
from nurture.sequences.models import Enrollment
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database, tamper
from tests.web.conftest import path_of
from tests.web.page_parsing import form_fields, label_texts, text_by_id

PAUSE_REASON = "paused by the lead for 30 days"


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    return capture(db.factory, clock, settings)


@pytest.fixture
def url(settings: Settings, lead: CaptureResult) -> str:
    return path_of(preferences_url(settings, lead.lead_public_id))


@pytest.fixture
def harness(db: Database, clock: ManualClock, settings: Settings) -> Harness:
    return Harness(db, clock, settings)


def ledger(db: Database, lead_id: int) -> list[tuple[str, str, str]]:
    with db.factory() as session:
        return [
            (e.channel, e.action, e.source)
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.lead_id == lead_id)
                .order_by(ConsentEvent.id)
            )
        ]


def consent(db: Database, lead_id: int) -> dict[Channel, bool]:
    with db.factory() as session:
        return current_consent(session, lead_id)


def next_due(db: Database, lead_id: int) -> datetime | None:
    with db.factory() as session:
        return session.scalars(
            select(Enrollment.next_due_at).where(Enrollment.lead_id == lead_id)
        ).one()


def snapshot(db: Database) -> list[tuple[str, str, str | None, datetime]]:
    with db.factory() as session:
        return [
            (m.step_key, m.status, m.reason, m.due_at)
            for m in session.scalars(select(Message).order_by(Message.id))
        ]


def test_the_page_is_a_plain_form_with_a_box_for_each_choice(client: TestClient, url: str) -> None:
    page = client.get(url)
    assert page.status_code == 200
    assert f'<form method="post" action="{url}">' in page.text
    assert form_fields(page.text) == {"stop_email": False, "stop_sms": False, "pause": False}
    labels = label_texts(page.text)
    assert labels["stop_email"] == "Emails"
    assert labels["stop_sms"] == "Text messages"
    assert labels["pause"].startswith("Pause everything for 30 days")
    assert "<script" not in page.text


def test_opening_the_page_changes_nothing(
    client: TestClient, db: Database, lead: CaptureResult, url: str, harness: Harness
) -> None:
    harness.dispatch(deliver=False)
    before = (ledger(db, lead.lead_id), snapshot(db), next_due(db, lead.lead_id))
    assert client.get(url).status_code == 200
    assert (ledger(db, lead.lead_id), snapshot(db), next_due(db, lead.lead_id)) == before


def test_stopping_only_email_keeps_the_texts_coming(
    client: TestClient, db: Database, lead: CaptureResult, url: str, harness: Harness
) -> None:
    harness.dispatch()
    saved = client.post(url, data={"stop_email": "yes"})
    assert saved.status_code == 200
    assert text_by_id(saved.text, "saved") == "Done: you will not receive any more emails from us."
    assert ledger(db, lead.lead_id)[-1] == ("email", "revoked", "preferences-page")
    assert consent(db, lead.lead_id) == {Channel.EMAIL: False, Channel.SMS: True}

    harness.run_for(timedelta(days=2, hours=6))
    messages = harness.messages()
    assert messages["sms-hello"].status == "sent"
    email = messages["why-stretching-alone"]
    assert (email.status, email.reason) == ("skipped", "no email consent")
    assert [m.message_ref for m in harness.email.sent] == [messages["welcome-article"].ref]


def test_stopping_only_texts_keeps_the_emails_coming(
    client: TestClient, db: Database, lead: CaptureResult, url: str, harness: Harness
) -> None:
    harness.dispatch()
    saved = client.post(url, data={"stop_sms": "yes"})
    assert "you will not receive any more text messages" in text_by_id(saved.text, "saved")
    assert ledger(db, lead.lead_id)[-1] == ("sms", "revoked", "preferences-page")
    assert consent(db, lead.lead_id) == {Channel.EMAIL: True, Channel.SMS: False}

    harness.run_for(timedelta(days=2, hours=6))
    messages = harness.messages()
    sms = messages["sms-hello"]
    assert (sms.status, sms.reason) == ("skipped", "no sms consent")
    assert messages["why-stretching-alone"].status == "sent"
    assert harness.sms.sent == []


@pytest.mark.slow  # steps through the whole two-week sequence
def test_pausing_holds_everything_for_30_days_keeps_consent_and_then_resumes_where_it_was(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    lead: CaptureResult,
    url: str,
    harness: Harness,
) -> None:
    harness.run_for(timedelta(days=2) - timedelta(minutes=30))  # welcome and sms-hello sent
    assert clock.now() == datetime.fromisoformat("2026-11-04T15:00:00+00:00")
    # Day 2's email is written and its delivery task is on its way when the lead pauses.
    in_flight = harness.dispatch(deliver=False)
    assert harness.messages()["why-stretching-alone"].status == "queued"
    before = ledger(db, lead.lead_id)

    saved = client.post(url, data={"pause": "30d"})
    assert saved.status_code == 200
    assert "you will not hear from us until Friday, December 4" in text_by_id(saved.text, "saved")
    assert form_fields(saved.text)["stop_email"] is False  # still subscribed to both
    until = clock.now() + timedelta(days=30)
    assert ledger(db, lead.lead_id) == before
    assert consent(db, lead.lead_id) == {Channel.EMAIL: True, Channel.SMS: True}
    held = harness.messages()["why-stretching-alone"]
    assert (held.status, held.reason, held.due_at) == ("held", PAUSE_REASON, until)
    # Day 4's step moves by the whole pause: it still comes two days after day 2's.
    assert next_due(db, lead.lead_id) == until + timedelta(days=2)

    harness.delivery.deliver_batch(in_flight)  # the task that was on its way finds nothing
    sent_before = len(harness.email.sent) + len(harness.sms.sent)
    harness.run_for(timedelta(days=30) - timedelta(hours=1), step=timedelta(hours=1))
    assert len(harness.email.sent) + len(harness.sms.sent) == sent_before
    assert harness.messages()["why-stretching-alone"].status == "held"

    harness.run_for(timedelta(days=2, hours=6), step=timedelta(hours=1))
    messages = harness.messages()
    resumed = [messages["why-stretching-alone"], messages["anatomy-link"]]
    assert [(m.status, m.sent_at) for m in resumed] == [
        ("sent", until),
        ("sent", until + timedelta(days=2)),
    ]


def test_pausing_does_not_hold_a_notice_the_lead_asked_for(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    lead: CaptureResult,
    url: str,
    harness: Harness,
) -> None:
    harness.dispatch()
    reminder_due = clock.now() + timedelta(days=1)
    with db.factory.begin() as session:
        queue_notice(
            session,
            Notice(lead.lead_id, "reminder", "reminder:test", reminder_due),
            EmailContent("Your screening is tomorrow", "See you tomorrow.", "<p>See you</p>"),
            clock.now(),
        )
    client.post(url, data={"pause": "30d"})
    reminder = harness.messages()["reminder"]
    assert (reminder.status, reminder.due_at) == ("held", reminder_due)
    assert reminder.reason != PAUSE_REASON
    harness.run_for(timedelta(days=1, hours=1))
    assert harness.messages()["reminder"].status == "sent"


def test_tampered_preferences_link_shows_an_error_page_and_changes_nothing(
    client: TestClient, db: Database, lead: CaptureResult, url: str, harness: Harness
) -> None:
    harness.dispatch(deliver=False)
    before = (ledger(db, lead.lead_id), snapshot(db), next_due(db, lead.lead_id))
    head, token = url.rsplit("/", 1)
    tampered = f"{head}/{tamper(token)}"
    choices = {"stop_email": "yes", "stop_sms": "yes", "pause": "30d"}
    for response in (client.get(tampered), client.post(tampered, data=choices)):
        assert response.status_code == 400
        assert "This link is not valid." in response.text
    assert (ledger(db, lead.lead_id), snapshot(db), next_due(db, lead.lead_id)) == before


def test_the_lead_chooses_the_language_they_are_written_to_in(
    client: TestClient, db: Database, lead: CaptureResult, url: str
) -> None:
    page = client.get(url)
    assert '<option value="en" selected>English</option>' in page.text
    saved = client.post(url, data={"language": "es"})
    assert saved.status_code == 200
    # The page answers in the language just chosen.
    assert '<html lang="es">' in saved.text
    assert "De ahora en adelante le escribiremos en español." in saved.text
    assert '<option value="es" selected>Español</option>' in saved.text
    with db.factory() as session:
        assert session.get_one(Lead, lead.lead_id).language == "es"
    assert consent(db, lead.lead_id) == {Channel.EMAIL: True, Channel.SMS: True}


def test_a_language_we_do_not_write_in_is_refused_naming_the_field_and_nothing_changes(
    client: TestClient, db: Database, lead: CaptureResult, url: str
) -> None:
    refused = client.post(url, data={"language": "fr", "stop_email": "yes"})
    assert refused.status_code == 422
    assert "Language: choose English or Español." in refused.text
    with db.factory() as session:
        assert session.get_one(Lead, lead.lead_id).language == "en"
    assert consent(db, lead.lead_id)[Channel.EMAIL]
