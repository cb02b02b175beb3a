"""The clinic settings page: admins only, every field checked, and saved settings used by
the next page, the next email and the next text's quiet hours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from nurture.booking.availability import stored_availability
from nurture.booking.models import ClinicSetting
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry
from tests.factories import ARTICLE, capture
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id
from workers import tasks
from workers.context import WorkerContext, use_context

CHICAGO = ZoneInfo("America/Chicago")
PAGE = "/admin/settings"


def current_form(client: TestClient) -> dict[str, str]:
    """The settings form as a browser would submit it untouched."""
    page = client.get(PAGE)
    assert page.status_code == 200
    values = {k: v for k, v in form_fields(page.text).items() if isinstance(v, str)}
    values["clinic_timezone"] = selected_zone(page.text)
    del values["csrf_token"]
    return values


def selected_zone(html: str) -> str:
    select_html = html.split('id="clinic_timezone"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option value="([^"]+)" selected>', select_html)
    assert match, select_html
    return match[1]


def save(client: TestClient, token: str, **changes: str) -> str:
    """Submit the form with `changes`; returns the notice shown after the redirect."""
    response = post_form(client, PAGE, token, {**current_form(client), **changes})
    assert response.status_code == 303, text_by_id(response.text, "settings-problems")
    assert response.headers["location"] == PAGE
    return text_by_id(client.get(PAGE).text, "notice")


def problem_items(html: str) -> list[str]:
    """The problems listed at the top of the form, in order."""
    block = html.split('id="settings-problems"', 1)[1].split("</ul>", 1)[0]
    return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", block)]


def audit(db: Database, action: str) -> list[AuditEntry]:
    with db.factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def admin(client: TestClient, db: Database, clock: ManualClock) -> str:
    return sign_in_as(client, db, clock, "admin")


@pytest.mark.parametrize("role", ["marketing", "frontdesk"])
def test_settings_are_refused_to_marketing_and_front_desk(
    client: TestClient, db: Database, clock: ManualClock, role: str
) -> None:
    token = sign_in_as(client, db, clock, role)
    assert client.get(PAGE).status_code == 403
    assert post_form(client, PAGE, token, {"clinic_name": "Taken Over PT"}).status_code == 403
    with db.factory() as session:
        assert session.get(ClinicSetting, "profile") is None


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")


def test_saving_without_the_form_token_is_refused_and_changes_nothing(
    client: TestClient, db: Database, admin: str
) -> None:
    data = {**current_form(client), "clinic_name": "Oak Street PT"}
    assert client.post(PAGE, data=data).status_code == 403
    with db.factory() as session:
        assert session.get(ClinicSetting, "profile") is None


def test_form_shows_the_environment_defaults_with_the_phone_written_nationally(
    client: TestClient, admin: str, settings: Settings
) -> None:
    values = current_form(client)
    assert values["clinic_name"] == settings.clinic_name
    assert values["clinic_phone"] == "(217) 555-0142"
    assert values["clinic_timezone"] == "America/Chicago"
    assert values["sms_sending_hours"] == "08:00-21:00"
    assert values["hours_monday"] == "09:00-12:00, 13:00-17:00"
    assert values["hours_sunday"] == ""


def test_every_bad_field_is_named_and_what_was_typed_stays(
    client: TestClient, db: Database, admin: str
) -> None:
    typed = {
        **current_form(client),
        "clinic_name": "  ",
        "clinic_phone": "555-CALL",
        "clinic_timezone": "Mars/Olympus",
        "sms_sending_hours": "07:00-22:00",
        "email_sending_hours": "nights",
        "hours_monday": "9-5",
        "hours_tuesday": "09:00-12:00, 11:00-14:00",
        "clinic_address": "",
        "hours_friday": "08:00-11:00",
    }
    response = post_form(client, PAGE, admin, typed)
    assert response.status_code == 422
    assert problem_items(response.text) == [
        "Clinic name: it cannot be empty",
        "Address: it cannot be empty",
        "Phone: '555-CALL' is not a valid phone number",
        "Time zone: 'Mars/Olympus' is not a known time zone",
        "SMS quiet hours: 07:00-22:00 reaches outside 08:00-21:00, the hours the law allows texts",
        "Email quiet hours: nights is not a time range like 08:00-21:00",
        "Monday screening hours: '9-5' is not a range like 09:00-12:30",
        "Tuesday screening hours: opening hours overlap at 11:00",
    ]
    fields = form_fields(response.text)
    assert fields["clinic_phone"] == "555-CALL"
    assert fields["hours_tuesday"] == "09:00-12:00, 11:00-14:00"
    assert fields["hours_friday"] == "08:00-11:00"  # the good field is kept too
    assert selected_zone(response.text) == "Mars/Olympus"
    with db.factory() as session:
        assert session.get(ClinicSetting, "profile") is None
    assert audit(db, "settings.changed") == []


def test_saved_clinic_identity_shows_on_the_next_pages_and_is_audited(
    client: TestClient, db: Database, admin: str, campaign: int
) -> None:
    notice = save(
        client,
        admin,
        clinic_name="Oak Street Physical Therapy",
        clinic_phone="(312) 555-0188",
        clinic_address="9 Oak Street, Chicago, IL 60601",
    )
    assert notice == "Saved: Clinic name, Address, Phone."
    assert "Oak Street Physical Therapy · staff" in client.get("/admin").text
    article = client.get(f"/articles/{ARTICLE}").text
    assert "Oak Street Physical Therapy" in article and "9 Oak Street, Chicago" in article
    assert "(312) 555-0188" in article and "Riverside" not in article
    [entry] = audit(db, "settings.changed")
    assert entry.actor == "ada@riverside-pt.example" and entry.target == "clinic"
    assert entry.detail["fields"]["clinic_phone"] == {"old": "+12175550142", "new": "+13125550188"}
    assert entry.detail["fields"]["clinic_name"]["new"] == "Oak Street Physical Therapy"
    assert set(entry.detail["fields"]) == {"clinic_name", "clinic_phone", "clinic_address"}


def test_the_saved_settings_are_read_once_per_request(
    client: TestClient, db: Database, admin: str
) -> None:
    save(client, admin, clinic_name="Oak Street Physical Therapy")
    reads: list[str] = []

    def note(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if "clinic_settings" in statement and "profile" in str(parameters):
            reads.append(statement)

    # The settings page takes the session, the settings and the page's clinic name.
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        page = client.get(PAGE)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert page.status_code == 200 and "Oak Street Physical Therapy" in page.text
    assert len(reads) == 1


def test_saving_the_form_unchanged_stores_and_audits_nothing(
    client: TestClient, db: Database, admin: str
) -> None:
    assert save(client, admin) == "Nothing changed."
    with db.factory() as session:
        assert session.get(ClinicSetting, "profile") is None
    assert audit(db, "settings.changed") == []


def test_screening_hours_are_saved_as_the_booking_availability(
    client: TestClient, db: Database, admin: str
) -> None:
    notice = save(client, admin, hours_monday="08:00-12:00", hours_sunday="10:00-12:00")
    assert notice == "Saved: Monday screening hours, Sunday screening hours."
    with db.factory() as session:
        availability = stored_availability(session)
    assert availability is not None
    assert availability.weekly_hours["monday"] == ("08:00-12:00",)
    assert availability.weekly_hours["sunday"] == ("10:00-12:00",)
    assert availability.weekly_hours["tuesday"] == ("09:00-12:00", "13:00-17:00")
    assert availability.screening_minutes == 30  # what the form does not show is kept
    [entry] = audit(db, "settings.changed")
    assert entry.detail["fields"]["screening_hours.monday"] == {
        "old": "09:00-12:00, 13:00-17:00",
        "new": "08:00-12:00",
    }


def test_quiet_hours_that_would_strand_a_campaign_text_are_refused_naming_the_step(
    client: TestClient, db: Database, admin: str, campaign: int
) -> None:
    response = post_form(
        client, PAGE, admin, {**current_form(client), "sms_sending_hours": "19:00-21:00"}
    )
    assert response.status_code == 422
    assert "SMS quiet hours: step sms-hello of campaign hamstring-sciatica could never go out" in (
        text_by_id(response.text, "settings-problems")
    )
    assert form_fields(response.text)["sms_sending_hours"] == "19:00-21:00"


@pytest.fixture
def worker(db: Database, clock: ManualClock) -> Iterator[list[int]]:
    """The Celery tasks, called directly, on the test database and clock; returns enqueued ids."""
    enqueued: list[int] = []
    use_context(WorkerContext(clock=clock, sessions=db.factory, enqueue=enqueued.extend))
    yield enqueued
    use_context(None)


def test_saved_clinic_name_and_address_sign_the_next_email(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    admin: str,
    campaign: int,
    worker: list[int],
) -> None:
    save(client, admin, clinic_name="Oak Street PT", clinic_address="9 Oak Street, Chicago, IL")
    capture(db.factory, clock, settings)
    tasks.dispatch()
    assert tasks.deliver(worker) == 1
    [eml] = Path(settings.outbox_dir).glob("*.eml")
    email = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert str(email["From"]).startswith("Oak Street PT <")
    body = email.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "9 Oak Street, Chicago, IL" in text and "Riverside" not in text


def test_narrower_sms_sending_hours_move_the_next_text(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    admin: str,
    campaign: int,
    worker: list[int],
) -> None:
    # Enrolled Monday 09:00 Chicago: the text is due 2 hours later, at 11:00, inside its
    # 10:00-18:00 window; SMS quiet hours from noon hold it until 12:00.
    assert save(client, admin, sms_sending_hours="12:00-21:00") == "Saved: SMS quiet hours."
    lead = capture(db.factory, clock, settings).lead_id
    tasks.dispatch()
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment).where(Enrollment.lead_id == lead)).one()
        assert enrollment.next_step_key == "sms-hello"
        assert enrollment.next_due_at is not None
        assert enrollment.next_due_at.astimezone(CHICAGO) == datetime(
            2026, 11, 2, 12, 0, tzinfo=CHICAGO
        )


def test_a_name_saved_between_two_delivery_batches_signs_the_second_batch(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    admin: str,
    campaign: int,
    worker: list[int],
) -> None:
    # The worker keeps one delivery object per saved-settings value: a save must not be
    # hidden behind the one it built for the batch before.
    capture(db.factory, clock, settings, email="ann@example.com")
    capture(db.factory, clock, settings, email="bo@example.com")
    tasks.dispatch()
    first, second = worker
    assert tasks.deliver([first]) == 1
    save(client, admin, clinic_name="Oak Street PT")
    assert tasks.deliver([second]) == 1
    emails = [
        message_from_bytes(eml.read_bytes(), policy=policy.default)
        for eml in Path(settings.outbox_dir).glob("*.eml")
    ]
    senders = [str(email["From"]).split(" <")[0] for email in emails]
    assert sorted(senders) == sorted([settings.clinic_name, "Oak Street PT"])
