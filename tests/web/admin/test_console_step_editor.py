"""The step editor: preview as you type, errors beside their fields, versions, test sends."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from nurture.campaigns.editing.test_send import Senders
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.sync import load_version
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.leads.models import Lead
from nurture.messages.channels.base import OutboundEmail, OutboundSms, PermanentError
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.staff.models import AuditEntry
from nurture.web.admin.campaign_editor import get_senders
from tests.factories import capture
from tests.fakes import RecordingChannel
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

SLUG = "hamstring-sciatica"
EMAIL_STEP = f"/admin/campaigns/{SLUG}/steps/welcome-article"
SMS_STEP = f"/admin/campaigns/{SLUG}/steps/sms-hello"
SMS_API = f"/admin/api/campaigns/{SLUG}/steps/sms-hello/preview"
WINDOW = {"window_start": "10:00", "window_end": "18:00", "window_days": ["mon", "tue", "wed"]}
SMS_FORM = {"delay": "2h", "channel": "sms", "condition": "sms_consent", **WINDOW}
Form = dict[str, str | list[str]]


def versions(db: Database) -> list[int]:
    with db.factory() as session:
        return list(
            session.scalars(select(CampaignVersion.number).order_by(CampaignVersion.number))
        )


def audit(db: Database, action: str) -> list[AuditEntry]:
    with db.factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def sms_form(body: str, **changes: str) -> Form:
    return {**SMS_FORM, "body": body, **changes}


def stored_form(client: TestClient, path: str) -> Form:
    """The edit form as the page fills it in (fields, ticked days and the textarea)."""
    page = client.get(f"{path}/edit")
    assert page.status_code == 200, page.text
    fields: Form = {k: v for k, v in form_fields(page.text).items() if isinstance(v, str)}
    fields.pop("csrf_token")
    fields["window_days"] = re.findall(r'name="window_days" value="(\w+)" checked', page.text)
    fields["body"] = textarea(page.text)
    for name in ("channel", "condition"):
        menu = re.search(rf'<select id="{name}".*?</select>', page.text, re.DOTALL)
        assert menu is not None
        fields[name] = re.findall(r'<option value="(\w*)" selected', menu[0])[0]
    return fields


def textarea(page: str) -> str:
    """The body textarea's value as a browser reads it."""
    start = page.index(">", page.index('<textarea id="body"')) + 1
    value = page[start : page.index("</textarea>", start)]
    # A browser drops the newline straight after <textarea>, and unescapes the text.
    return html.unescape(value.removeprefix("\n"))


@pytest.fixture
def marketing(client: TestClient, db: Database, clock: ManualClock, campaign: int) -> str:
    return sign_in_as(client, db, clock, "marketing")


@pytest.fixture
def recorded(app: FastAPI) -> RecordingChannel:
    channel = RecordingChannel()
    app.dependency_overrides[get_senders] = lambda: Senders(channel, channel)
    return channel


def test_edit_page_shows_the_step_and_renders_it_for_jordan(
    client: TestClient, marketing: str, settings: Settings
) -> None:
    page = client.get(f"{EMAIL_STEP}/edit")
    assert page.status_code == 200
    fields = form_fields(page.text)
    assert fields["delay"] == "0m"
    assert fields["subject"] == "{{ first_name }}, here is your guide to tight hamstrings"
    assert (
        text_by_id(page.text, "preview-subject") == "Jordan, here is your guide to tight hamstrings"
    )
    assert "Jordan" in text_by_id(page.text, "preview-text")
    # The HTML sits in a sandboxed iframe's srcdoc, escaped, so it cannot touch the console.
    assert '<iframe id="preview-html"' in page.text and " sandbox " in page.text
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in page.text
    assert settings.clinic_name in text_by_id(page.text, "preview-text")
    assert f"{settings.public_base_url}/articles/" in text_by_id(page.text, "preview-text")
    assert "No leads are enrolled" in text_by_id(page.text, "impact")


def test_segment_count_follows_the_body_from_gsm7_to_unicode(
    client: TestClient, marketing: str
) -> None:
    headers = {"X-CSRF-Token": marketing}
    plain = client.post(SMS_API, json=sms_form("Hi {{ first_name }}, it's time."), headers=headers)
    assert plain.status_code == 200
    assert plain.json()["segments"]["summary"] == "GSM-7 · 21 characters · 1 segment"
    assert plain.json()["unicode_warning"] == ""
    curly = client.post(SMS_API, json=sms_form("Hi {{ first_name }}, it’s time."), headers=headers)
    assert curly.json()["segments"]["summary"] == "UCS-2 · 21 characters · 1 segment"
    assert curly.json()["unicode_warning"] == (
        "’ switches the whole message to Unicode: 70 characters per segment"
    )
    long = client.post(SMS_API, json=sms_form("It’s " + "x" * 80), headers=headers)
    assert long.json()["segments"]["summary"] == "UCS-2 · 85 characters · 2 segments"


def test_preview_button_without_javascript_shows_the_typed_text_and_saves_nothing(
    client: TestClient, db: Database, marketing: str
) -> None:
    data = sms_form("Hi {{ first_name }}, it’s your reminder.", action="preview")
    page = post_form(client, f"{SMS_STEP}/edit", marketing, data)
    assert page.status_code == 200
    assert text_by_id(page.text, "preview-sms") == "Hi Jordan, it’s your reminder."
    assert text_by_id(page.text, "segment-count") == "UCS-2 · 30 characters · 1 segment"
    assert text_by_id(page.text, "unicode-warning").startswith("’ switches the whole message")
    assert "it’s your reminder" in textarea(page.text)
    assert versions(db) == [1]


def test_over_the_campaigns_segment_limit_is_warned(client: TestClient, marketing: str) -> None:
    result = client.post(
        SMS_API, json=sms_form("x" * 400), headers={"X-CSRF-Token": marketing}
    ).json()
    assert result["segments"]["segments"] == 3
    assert result["length_warning"] == (
        "3 segments is more than this campaign allows (2): shorten the text"
    )


def test_template_errors_show_beside_the_body_not_as_a_server_error(
    client: TestClient, db: Database, marketing: str
) -> None:
    broken = post_form(
        client, f"{SMS_STEP}/edit", marketing, sms_form("Hi {{ first_name ", action="save")
    )
    assert broken.status_code == 422
    assert text_by_id(broken.text, "error-body").startswith("line 1:")
    assert "body: line 1" in text_by_id(broken.text, "preview-error")
    assert textarea(broken.text) == "Hi {{ first_name "
    unknown = client.post(
        SMS_API, json=sms_form("Hi {{ nmae }}"), headers={"X-CSRF-Token": marketing}
    )
    assert unknown.status_code == 200
    [problem] = unknown.json()["problems"]
    assert problem["field"] == "body" and "unknown variable 'nmae'" in problem["message"]
    assert versions(db) == [1]


def test_bad_delay_and_missing_subject_are_named_and_the_typed_values_kept(
    client: TestClient, db: Database, marketing: str
) -> None:
    data = {**stored_form(client, EMAIL_STEP), "delay": "soon", "action": "save"}
    page = post_form(client, f"{EMAIL_STEP}/edit", marketing, data)
    assert page.status_code == 422
    assert "'soon' is not a delay" in text_by_id(page.text, "error-delay")
    assert form_fields(page.text)["delay"] == "soon"
    data = {**stored_form(client, EMAIL_STEP), "subject": " ", "action": "save"}
    page = post_form(client, f"{EMAIL_STEP}/edit", marketing, data)
    assert page.status_code == 422
    assert text_by_id(page.text, "error-subject") == "an email step needs a subject"
    assert versions(db) == [1]


def test_a_delay_earlier_than_the_step_before_is_refused(
    client: TestClient, db: Database, marketing: str
) -> None:
    path = f"/admin/campaigns/{SLUG}/steps/why-stretching-alone"
    data = {**stored_form(client, path), "delay": "1h", "action": "save"}
    page = post_form(client, f"{path}/edit", marketing, data)
    assert page.status_code == 422
    message = text_by_id(page.text, "error-delay")
    assert "step 'why-stretching-alone'" in message and "may not go down" in message
    assert versions(db) == [1]


def test_saving_creates_the_next_version_and_leaves_the_stored_one_alone(
    client: TestClient, db: Database, marketing: str, seeded_definition: object
) -> None:
    data = {
        **stored_form(client, SMS_STEP),
        "body": "Hi {{ first_name }}! New text.",
        "action": "save",
    }
    response = post_form(client, f"{SMS_STEP}/edit", marketing, data)
    assert response.status_code == 303
    assert response.headers["location"] == f"{SMS_STEP}/edit"
    assert versions(db) == [1, 2]
    with db.factory() as session:
        first, second = session.scalars(select(CampaignVersion).order_by(CampaignVersion.number))
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.current_version_id == second.id
        old, new = load_version(session, first.id), load_version(session, second.id)
    template = old.spec.step("sms-hello").template
    assert old.templates[template] == seeded_definition.templates[template]  # type: ignore[attr-defined]
    assert new.templates[new.spec.step("sms-hello").template] == "Hi {{ first_name }}! New text."
    page = client.get(response.headers["location"])
    assert "Saved sms-hello as version 2 (body changed)" in text_by_id(page.text, "notice")
    assert "Editing version 2" in text_by_id(page.text, "version")
    [entry] = audit(db, "campaign.step_edited")
    assert entry.target == f"{SLUG}/sms-hello"
    assert entry.detail["from_version"] == 1 and entry.detail["to_version"] == 2
    assert entry.detail["fields"] == ["body"]
    assert "New text" not in str(entry.detail)


def test_saving_unchanged_values_makes_no_version(
    client: TestClient, db: Database, marketing: str
) -> None:
    data = {**stored_form(client, EMAIL_STEP), "action": "save"}
    response = post_form(client, f"{EMAIL_STEP}/edit", marketing, data)
    assert response.status_code == 303
    assert "Nothing changed" in text_by_id(client.get(response.headers["location"]).text, "notice")
    assert versions(db) == [1]


def test_enrolled_leads_are_told_about_then_moved_to_the_new_version_by_key(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    marketing: str,
) -> None:
    capture(db.factory, clock, settings)
    key = "why-stretching-alone"
    path = f"/admin/campaigns/{SLUG}/steps/{key}"
    with db.factory.begin() as session:
        # The dispatcher has sent the first two steps: this step is next, due on day 2.
        session.execute(
            update(Enrollment).values(
                next_step_key=key, next_due_at=clock.now() + timedelta(days=2)
            )
        )
    clock.advance(timedelta(days=1))
    data = {**stored_form(client, path), "delay": "20h"}
    preview = post_form(client, f"{path}/edit", marketing, {**data, "action": "preview"})
    impact = text_by_id(preview.text, "impact")
    assert "1 lead is enrolled (0 paused)" in impact
    assert "1 waiting for this step will get the new content" in impact
    assert "1 would become due at once" in impact
    response = post_form(client, f"{path}/edit", marketing, {**data, "action": "save"})
    assert response.status_code == 303
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        version = session.get(CampaignVersion, enrollment.campaign_version_id)
        assert version is not None and version.number == 2
        assert enrollment.next_step_key == key
        assert enrollment.status == EnrollmentStatus.ACTIVE
        assert enrollment.next_due_at is not None and enrollment.next_due_at <= clock.now()
    notice = text_by_id(client.get(response.headers["location"]).text, "notice")
    assert "1 enrolled lead moved to it, 1 due at once" in notice


def test_front_desk_and_anonymous_visitors_are_refused(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    assert client.get(f"{EMAIL_STEP}/edit").status_code == 303
    # Refused before anything runs: the missing CSRF token or the missing sign-in.
    assert client.post(SMS_API, json=sms_form("x")).status_code in (401, 403)
    token = sign_in_as(client, db, clock, "frontdesk")
    assert client.get(f"{EMAIL_STEP}/edit").status_code == 403
    assert (
        client.post(SMS_API, json=sms_form("x"), headers={"X-CSRF-Token": token}).status_code == 403
    )
    saved = post_form(client, f"{SMS_STEP}/edit", token, sms_form("New", action="save"))
    assert saved.status_code == 403
    assert versions(db) == [1]


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, marketing: str, recorded: RecordingChannel
) -> None:
    saved = client.post(f"{SMS_STEP}/edit", data=sms_form("New text", action="save"))
    assert saved.status_code == 403
    assert client.post(SMS_API, json=sms_form("x")).status_code == 403
    test = client.post(f"{EMAIL_STEP}/test", data=stored_form(client, EMAIL_STEP))
    assert test.status_code == 403
    assert versions(db) == [1] and recorded.sent == []


def test_unknown_campaign_or_step_is_not_found(client: TestClient, marketing: str) -> None:
    assert client.get(f"/admin/campaigns/{SLUG}/steps/no-such-step/edit").status_code == 404
    assert client.get("/admin/campaigns/nope/steps/sms-hello/edit").status_code == 404


def test_test_email_goes_to_the_signed_in_member_of_staff_only(
    client: TestClient, db: Database, marketing: str, recorded: RecordingChannel
) -> None:
    data = {**stored_form(client, EMAIL_STEP), "subject": "Hello {{ first_name }}"}
    page = post_form(client, f"{EMAIL_STEP}/test", marketing, data)
    assert page.status_code == 200, text_by_id(page.text, "preview-error")
    [email] = recorded.sent
    assert isinstance(email, OutboundEmail)
    assert email.to == EMAILS["marketing"]
    assert email.subject == "[Test] Hello Jordan"
    assert "Jordan" in email.text and "<html" in email.html
    assert "Test email sent to your email" in text_by_id(page.text, "test-result")
    assert form_fields(page.text)["subject"] == "Hello {{ first_name }}"  # typed value kept
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 0
    [entry] = audit(db, "campaign.test_sent")
    assert entry.target == f"{SLUG}/welcome-article"
    assert EMAILS["marketing"] not in str(entry.detail)
    assert versions(db) == [1]


def test_sms_test_needs_a_phone_number_and_goes_to_it(
    client: TestClient, marketing: str, recorded: RecordingChannel
) -> None:
    body = "Hi {{ first_name }}, a test."
    bad = post_form(client, f"{SMS_STEP}/test", marketing, sms_form(body, test_phone="12345"))
    assert bad.status_code == 422
    assert "'12345' is not a phone number" in text_by_id(bad.text, "error-test_phone")
    assert form_fields(bad.text)["test_phone"] == "12345"
    assert recorded.sent == []
    good = post_form(
        client, f"{SMS_STEP}/test", marketing, sms_form(body, test_phone="(217) 555-0123")
    )
    assert good.status_code == 200
    [sms] = recorded.sent
    assert isinstance(sms, OutboundSms)
    assert sms.to == "+12175550123" and sms.body == "Hi Jordan, a test."


def test_a_provider_refusing_the_test_is_shown_on_the_page(
    client: TestClient, db: Database, marketing: str, recorded: RecordingChannel
) -> None:
    recorded.failures.append(PermanentError("400", "the sender is not verified"))
    page = post_form(client, f"{EMAIL_STEP}/test", marketing, stored_form(client, EMAIL_STEP))
    assert page.status_code == 502
    assert "the sender is not verified" in text_by_id(page.text, "error-test")
    assert audit(db, "campaign.test_sent") == []


def test_console_channel_writes_the_test_email_to_the_outbox(
    client: TestClient, marketing: str, settings: Settings
) -> None:
    page = post_form(client, f"{EMAIL_STEP}/test", marketing, stored_form(client, EMAIL_STEP))
    assert page.status_code == 200
    files = list(Path(settings.outbox_dir).glob("*.eml"))
    assert len(files) == 1
    assert "Subject: [Test] Jordan, here is your guide" in files[0].read_text()


def test_saving_over_someone_elses_newer_version_is_refused_with_the_typed_values(
    client: TestClient, db: Database, marketing: str
) -> None:
    opened = stored_form(client, SMS_STEP)  # both edits start from version 1
    first = {**opened, "body": "First edit.", "action": "save"}
    assert post_form(client, f"{SMS_STEP}/edit", marketing, first).status_code == 303
    second = {**opened, "body": "Second edit.", "action": "save"}
    page = post_form(client, f"{SMS_STEP}/edit", marketing, second)
    assert page.status_code == 422
    assert "someone saved version 2" in text_by_id(page.text, "error-campaign")
    assert textarea(page.text) == "Second edit."
    assert versions(db) == [1, 2]
