"""The campaign pages: list, steps, status actions, versions, export/import, dry run."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.exchange import export_zip
from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import text_by_id

SLUG = "hamstring-sciatica"
PAGES = [
    "/admin/campaigns",
    f"/admin/campaigns/{SLUG}",
    f"/admin/campaigns/{SLUG}/versions",
    f"/admin/campaigns/{SLUG}/timeline",
    f"/admin/campaigns/{SLUG}/export",
    "/admin/campaigns/import",
]
ACTIONS = ["activate", "pause", "archive"]


def status_of(db: Database) -> str:
    with db.factory() as session:
        return session.scalars(select(Campaign.status).where(Campaign.slug == SLUG)).one()


def upload(client: TestClient, token: str, data: bytes, name: str = "campaign.zip") -> object:
    return client.post(
        "/admin/campaigns/import",
        data={"csrf_token": token},
        files={"archive": (name, data, "application/zip")},
    )


def changed_zip(definition: CampaignDefinition, old: bytes, new: bytes) -> bytes:
    """The exported zip with one replacement made in campaign.yaml."""
    source = zipfile.ZipFile(io.BytesIO(export_zip(definition)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith("campaign.yaml"):
                assert old in content
                content = content.replace(old, new, 1)
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("path", PAGES)
def test_marketing_opens_every_campaign_page(
    client: TestClient, db: Database, clock: ManualClock, campaign: int, path: str
) -> None:
    sign_in_as(client, db, clock, "marketing")
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_front_desk_is_refused_the_campaign_pages(
    client: TestClient, db: Database, clock: ManualClock, campaign: int, path: str
) -> None:
    sign_in_as(client, db, clock, "frontdesk")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(
    client: TestClient, campaign: int, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


@pytest.mark.parametrize("action", ACTIONS)
def test_front_desk_cannot_change_a_campaigns_status(
    client: TestClient, db: Database, clock: ManualClock, campaign: int, action: str
) -> None:
    token = sign_in_as(client, db, clock, "frontdesk")
    assert post_form(client, f"/admin/campaigns/{SLUG}/{action}", token).status_code == 403
    assert status_of(db) == "active"


def test_status_forms_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    assert client.post(f"/admin/campaigns/{SLUG}/pause").status_code == 403
    assert status_of(db) == "active"


def test_campaign_list_shows_status_version_and_headline_numbers(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    capture(db.factory, clock, settings, email="lee@example.com", phone="+12175550123")
    Harness(db, clock, settings).dispatch()  # each lead's welcome email goes out
    sign_in_as(client, db, clock, "marketing")
    page = client.get("/admin/campaigns").text
    row = text_by_id(page, f"campaign-{SLUG}")
    assert row == "Tight hamstrings and the sciatic nerve hamstring-sciatica active 1 2 2 0 2"
    assert f'href="/admin/campaigns/{SLUG}"' in page


def test_campaign_page_lists_steps_with_day_channel_window_and_edit_links(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/campaigns/{SLUG}").text
    assert text_by_id(page, "campaign-status") == (
        f"active version 1 · 0 enrollments on it · slug {SLUG}"
    )
    # Subjects and texts read as the sample lead Jordan would get them, links named.
    assert text_by_id(page, "step-welcome-article") == (
        "0 welcome-article 0m Email – any time Jordan, here is your guide to tight hamstrings Edit"
    )
    hello = text_by_id(page, "step-sms-hello")
    assert hello.startswith(
        "0 sms-hello 2h SMS sms_consent 10:00-18:00 Mon-Sat Riverside Physical Therapy: Hi Jordan"
    )
    assert "[article link]" in hello and "{{" not in page
    assert "can land a day or more later than its earliest day" in text_by_id(page, "day-note")
    assert text_by_id(page, "step-screening-invitation").startswith("14 screening-invitation 14d")
    assert f'href="/admin/campaigns/{SLUG}/steps/sms-hello/edit"' in page
    for link in ("versions", "timeline", "export"):
        assert f'href="/admin/campaigns/{SLUG}/{link}"' in page


def test_pausing_and_resuming_from_the_campaign_page_is_audited(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    response = post_form(client, f"/admin/campaigns/{SLUG}/pause", token)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/campaigns/{SLUG}"
    page = client.get(f"/admin/campaigns/{SLUG}").text
    assert text_by_id(page, "notice") == "Campaign paused."
    assert "paused" in text_by_id(page, "campaign-status")
    assert text_by_id(page, "activate") == "Resume"
    post_form(client, f"/admin/campaigns/{SLUG}/activate", token)
    assert status_of(db) == "active"
    with db.factory() as session:
        audit = session.execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.actor).order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in audit if a[0].startswith("campaign.")] == [
        ("campaign.paused", SLUG, "mara@riverside-pt.example"),
        ("campaign.activated", SLUG, "mara@riverside-pt.example"),
    ]


def test_archive_asks_first_naming_the_enrollments_it_ends_then_ends_them(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    Harness(db, clock, settings).dispatch(deliver=False)
    token = sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/campaigns/{SLUG}").text
    question = "Archive Tight hamstrings and the sciatic nerve? This ends 1 enrollment"
    assert f'data-confirm="{question} and cannot be undone."' in page
    post_form(client, f"/admin/campaigns/{SLUG}/archive", token)
    page = client.get(f"/admin/campaigns/{SLUG}").text
    assert text_by_id(page, "notice") == (
        "Campaign archived. 1 enrollment ended and 1 waiting message skipped."
    )
    assert text_by_id(page, "status-actions") == ""  # archived is final: no buttons left
    with db.factory() as session:
        message = session.scalars(select(Message)).one()
        assert (message.status, message.reason) == (MessageStatus.SKIPPED, "campaign archived")
        assert session.scalars(select(Enrollment.end_reason)).one() == "campaign archived"


def test_a_refused_move_says_why_and_changes_nothing(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    post_form(client, f"/admin/campaigns/{SLUG}/archive", token)
    post_form(client, f"/admin/campaigns/{SLUG}/activate", token)
    page = client.get(f"/admin/campaigns/{SLUG}").text
    assert text_by_id(page, "notice") == (
        f"Not changed: cannot activate campaign {SLUG}: it is archived and archived is final."
    )
    assert status_of(db) == "archived"


def test_unknown_campaign_is_not_found(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    assert client.get("/admin/campaigns/no-such-campaign").status_code == 404


def test_versions_page_shows_enrollments_per_version_and_what_changed(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    capture(db.factory, clock, settings)
    spec = seeded_definition.spec
    first = spec.steps[0].model_copy(update={"subject": "Your guide, {{ first_name }}"})
    changed = CampaignDefinition(
        spec.model_copy(update={"steps": [first, *spec.steps[1:-1]]}), seeded_definition.templates
    )
    with db.factory.begin() as session:
        sync_campaign(session, changed, clock.now())
    sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/campaigns/{SLUG}/versions").text
    assert text_by_id(page, "version-2").startswith("2 current")
    assert text_by_id(page, "version-1").split()[-3:] == ["1", "first", "version"]
    assert text_by_id(page, "changes-2") == (
        "step welcome-article: subject '{{ first_name }}, here is your guide to tight "
        "hamstrings' → 'Your guide, {{ first_name }}' step screening-invitation removed"
    )


def test_export_downloads_the_campaign_folder_as_a_zip(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    response = client.get(f"/admin/campaigns/{SLUG}/export")
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="{SLUG}.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert names[0] == f"{SLUG}/campaign.yaml"
    # campaign.yaml and its 22 templates: 11 steps in English and in Spanish
    assert f"{SLUG}/02-sms-hello.txt.j2" in names and len(names) == 24


def test_importing_the_export_changes_nothing(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    exported = client.get(f"/admin/campaigns/{SLUG}/export").content
    response = upload(client, token, exported)
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert text_by_id(page, "notice") == f"{SLUG} is unchanged: the import equals version 1."
    with db.factory() as session:
        assert session.scalar(select(func.count(CampaignVersion.id))) == 1


def test_importing_a_changed_campaign_adds_a_version(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    data = changed_zip(seeded_definition, b"delay: 14d", b"delay: 15d")
    response = upload(client, token, data)
    page = client.get(response.headers["location"]).text
    assert text_by_id(page, "notice") == f"Imported {SLUG} as version 2."
    assert text_by_id(page, "step-screening-invitation").startswith("15 screening-invitation")
    assert status_of(db) == "active"


def test_importing_a_new_campaign_stores_it_as_a_draft(
    client: TestClient, db: Database, clock: ManualClock, seeded_definition: CampaignDefinition
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    data = changed_zip(seeded_definition, b"slug: hamstring-sciatica", b"slug: knee-pain")
    response = upload(client, token, data)
    assert response.headers["location"] == "/admin/campaigns/knee-pain"
    page = client.get("/admin/campaigns").text
    assert text_by_id(page, "campaign-knee-pain").split()[-6:] == ["draft", "1", "0", "0", "0", "0"]


def test_a_zip_with_a_bad_field_names_the_file_and_field_and_stores_nothing(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    data = changed_zip(seeded_definition, b"delay: 2d\n", b"delay: two days\n")
    response = upload(client, token, data)
    assert response.status_code == 400
    assert text_by_id(response.text, "import-problems") == (
        "Please fix the following: hamstring-sciatica/campaign.yaml: steps[2].delay: "
        "'two days' is not a delay: use e.g. 0m, 45m, 2h, 3d or 2d4h"
    )
    with db.factory() as session:
        assert session.scalar(select(func.count(CampaignVersion.id))) == 1


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../escape.txt", "archive: ../escape.txt: '..' in a path is not allowed"),
        ("/etc/cron.d/x", "archive: /etc/cron.d/x: absolute or Windows paths are not allowed"),
    ],
)
def test_a_zip_that_writes_outside_its_folder_is_refused(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    seeded_definition: CampaignDefinition,
    member: str,
    why: str,
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(member, "x")
    response = upload(client, token, buffer.getvalue())
    assert response.status_code == 400
    assert why in text_by_id(response.text, "import-problems")


def test_an_upload_that_is_not_a_zip_is_refused_with_a_message(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    response = upload(client, token, b"slug: not a zip")
    assert response.status_code == 400
    assert "archive: not a zip file" in text_by_id(response.text, "import-problems")
    missing = client.post("/admin/campaigns/import", data={"csrf_token": token})
    assert "archive: choose a campaign .zip file" in text_by_id(missing.text, "import-problems")


def test_dry_run_shows_each_send_time_in_the_chosen_zone_and_why_it_moved(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    page = client.get(
        f"/admin/campaigns/{SLUG}/timeline",
        params={"start": "2026-10-27T20:30", "zone": "America/New_York", "sms": "1"},
    ).text
    assert text_by_id(page, "dry-run-welcome-article") == (
        "0 welcome-article Email Tue 27 Oct 20:30 EDT"
    )
    assert text_by_id(page, "dry-run-sms-hello") == (
        "1 sms-hello SMS Wed 28 Oct 10:00 EDT moved from Tue 27 Oct 22:30 EDT: outside "
        "step window 10:00-18:00 Mon-Sat and SMS quiet hours 08:00-21:00"
    )
    assert "Tue 3 Nov 19:30 EST" in text_by_id(page, "dry-run-nerve-or-muscle")


def test_dry_run_without_sms_consent_marks_the_sms_steps_skipped(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    page = client.get(
        f"/admin/campaigns/{SLUG}/timeline",
        params={"start": "2026-11-02T09:00", "zone": "America/Chicago"},
    ).text
    assert "would be skipped: no sms consent" in text_by_id(page, "dry-run-sms-hello")
    assert "skipped" not in text_by_id(page, "dry-run-welcome-article")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "next tuesday", "zone": "America/Chicago"}, "start-error", "Start: 'next"),
        ({"start": "2026-11-02T09:00", "zone": "Mars/Olympus"}, "zone-error", "Time zone: 'Mars"),
    ],
)
def test_dry_run_with_a_bad_start_or_zone_names_the_field(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    sign_in_as(client, db, clock, "marketing")
    response = client.get(f"/admin/campaigns/{SLUG}/timeline", params=params)
    assert response.status_code == 400
    assert text_by_id(response.text, field).startswith(message)
    assert text_by_id(response.text, "dry-run") == ""


def test_a_paused_campaign_shows_as_paused_in_the_list(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    with db.factory.begin() as session:
        session.get_one(Campaign, campaign).status = CampaignStatus.PAUSED
    sign_in_as(client, db, clock, "marketing")
    page = client.get("/admin/campaigns").text
    assert '<span class="badge paused">paused</span>' in page
