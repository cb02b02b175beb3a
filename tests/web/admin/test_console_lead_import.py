"""The console's CSV import: upload, mapping preview, dry run, the job's progress and results."""

from __future__ import annotations

import csv
import io
import threading
from html.parser import HTMLParser
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.importing.csv_file import read_csv
from nurture.leads.importing.jobs import THREAD_PREFIX, JobRun, create_job
from nurture.leads.importing.uploads import save_upload, uploads_dir
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry
from nurture.staff.service import Actor
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

SLUG = "hamstring-sciatica"
MIXED = (
    "First name,E-mail,Mobile,Email consent,SMS consent\n"
    "Ann,ann@example.com,(217) 555-0101,yes,yes\n"
    "Bob,bob-at-example.com,,yes,no\n"
    "Cy,cy@example.com,,no,no\n"
    "Di,di@example.com,,y,\n"
)


class _Selects(HTMLParser):
    """The chosen option of every <select>, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.chosen: dict[str, str] = {}
        self._name = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "select":
            self._name = attr.get("name") or ""
        elif tag == "option" and self._name and "selected" in attr:
            self.chosen[self._name] = attr.get("value") or ""


def selected(html: str) -> dict[str, str]:
    parser = _Selects()
    parser.feed(html)
    return parser.chosen


def upload(
    client: TestClient, token: str, text: str | bytes, name: str = "spring-fair.csv"
) -> httpx.Response:
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/admin/leads/import/preview",
        data={"csrf_token": token, "campaign": SLUG},
        files={"file": (name, data, "text/csv")},
    )


def wait_for_imports() -> None:
    """Let the import threads the console started finish."""
    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_PREFIX):
            thread.join(timeout=60)


def stored_uploads(settings: Settings) -> list[Path]:
    folder = uploads_dir(settings.data_dir)
    return sorted(folder.glob("*.csv")) if folder.exists() else []


def test_preview_shows_the_guessed_mapping_sample_rows_and_a_dry_run(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    response = upload(client, token, MIXED)
    assert response.status_code == 200, response.text
    page = response.text
    assert selected(page) == {
        "campaign": SLUG,
        "map-0": "first_name",
        "map-1": "email",
        "map-2": "phone",
        "map-3": "email_consent",
        "map-4": "sms_consent",
    }
    mapping = text_by_id(page, "mapping")
    assert "First name E-mail Mobile Email consent SMS consent" in mapping
    assert "2 Ann ann@example.com (217) 555-0101 yes yes" in mapping
    assert "5 Di di@example.com y" in mapping
    assert text_by_id(page, "dry-run") == (
        "4 rows in the file: 2 ready to import, 2 with errors (they will be skipped)."
    )
    assert "3 E-mail An email address must have an @-sign." in text_by_id(page, "preview-errors")
    # The file waits on the server under a random name; the page refers to it by that id.
    [path] = stored_uploads(settings)
    assert form_fields(page)["upload_id"] == path.stem
    assert path.read_text() == MIXED
    with db.factory() as session:
        assert session.scalars(select(Lead)).first() is None  # a preview saves no lead


def test_importing_a_file_with_bad_rows_enrols_the_good_ones_and_lists_the_rest(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    preview = upload(client, token, MIXED)
    fields = form_fields(preview.text)
    choices = {k: v for k, v in selected(preview.text).items() if k.startswith("map-")}
    response = post_form(
        client,
        "/admin/leads/import/run",
        token,
        {"upload_id": str(fields["upload_id"]), "filename": "spring-fair.csv", "campaign": SLUG}
        | choices,
    )
    assert response.status_code == 303
    wait_for_imports()
    job_url = response.headers["location"]
    assert "example.com" not in job_url
    page = client.get(job_url).text
    assert text_by_id(page, "notice") == "Import started."
    assert text_by_id(page, "import-progress-text") == "4 of 4 rows"
    assert text_by_id(page, "count-imported") == "2"
    assert text_by_id(page, "count-skipped") == "2"
    assert text_by_id(page, "import-errors") == (
        "Row Column Problem "
        "3 E-mail An email address must have an @-sign. "
        "4 Email consent / SMS consent no consent: the person must have agreed to emails or texts"
    )
    assert "import-refresh" not in page
    errors_csv = client.get(job_url + "/errors.csv")
    assert errors_csv.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(errors_csv.text)))[:2] == [
        ["row", "column", "problem"],
        ["3", "E-mail", "An email address must have an @-sign."],
    ]
    with db.factory() as session:
        enrolled = session.scalars(select(Lead.email).join(Enrollment)).all()
        assert sorted(enrolled) == ["ann@example.com", "di@example.com"]
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "leads.imported"))
        entry = audit.one()
    assert entry.actor == "mara@riverside-pt.example"
    assert entry.target == job_url.rsplit("/", 1)[1]
    assert entry.detail == {
        "campaign": SLUG,
        "rows": 4,
        "imported": 2,
        "already_enrolled": 0,
        "skipped": 2,
        "new_leads": 2,
    }
    assert stored_uploads(settings) == []  # the upload is deleted once imported


def test_progress_json_advances_chunk_by_chunk_and_ends_done(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    rows = "".join(f"P{i},p{i}@example.com,yes\n" for i in range(5))
    data = ("Name,Email,Email consent\n" + rows).encode()
    upload_id = save_upload(settings.data_dir, data)
    with db.factory.begin() as session:
        job = create_job(
            session,
            upload_id=upload_id,
            filename="big.csv",
            campaign=SLUG,
            mapping=("first_name", "email", "email_consent"),
            total=len(read_csv(data).rows),
            actor=Actor("mara@riverside-pt.example"),
            now=clock.now(),
        )
        job_id, public_id = job.id, job.public_id

    def status() -> dict[str, object]:
        response = client.get(f"/admin/api/imports/{public_id}")
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    assert status() == {
        "status": "queued",
        "processed": 0,
        "total": 5,
        "imported": 0,
        "already_enrolled": 0,
        "skipped": 0,
        "done": False,
    }
    run = JobRun(db.factory, job_id, settings, chunk_size=2)
    page = client.get(f"/admin/leads/import/{public_id}").text
    assert text_by_id(page, "import-refresh") == "Refresh"
    assert run.step(clock.now())
    assert (status()["processed"], status()["imported"], status()["done"]) == (2, 2, False)
    while run.step(clock.now()):
        pass
    final = status()
    assert (final["processed"], final["imported"], final["status"], final["done"]) == (
        5,
        5,
        "done",
        True,
    )


def test_a_file_that_is_not_csv_text_shows_the_form_again_with_the_reason(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    response = upload(client, token, b"PK\x03\x04 a workbook", name="leads.xlsx")
    assert response.status_code == 400
    assert "This is an Excel workbook" in response.text
    assert selected(response.text)["campaign"] == SLUG
    assert stored_uploads(settings) == []


def test_a_changed_mapping_is_checked_again_and_missing_fields_named(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    fields = form_fields(upload(client, token, MIXED).text)
    data = {"upload_id": str(fields["upload_id"]), "filename": "spring-fair.csv", "campaign": SLUG}
    unmapped = data | {"map-1": "", "map-3": "", "map-4": ""}
    response = post_form(client, "/admin/leads/import/preview", token, unmapped)
    assert response.status_code == 400
    assert "Choose the column that holds Email." in response.text
    assert text_by_id(response.text, "dry-run") == "Fix the problems above, then check again."
    # Starting the import with that mapping re-shows the preview instead.
    refused = post_form(client, "/admin/leads/import/run", token, unmapped)
    assert refused.status_code == 400
    assert "Choose the column that holds Email." in refused.text
    with db.factory() as session:
        assert session.scalars(select(Lead)).first() is None


def test_front_desk_cannot_open_or_use_the_import(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "frontdesk")
    assert client.get("/admin/leads/import").status_code == 403
    assert upload(client, token, MIXED).status_code == 403
    assert client.get("/admin/api/imports/0123456789abcdef0123456789abcdef").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_and_the_api_answers_401(
    client: TestClient,
) -> None:
    page = client.get("/admin/leads/import")
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")
    assert client.get("/admin/api/imports/0123456789abcdef0123456789abcdef").status_code == 401


def test_an_upload_without_the_csrf_token_is_refused(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    response = client.post(
        "/admin/leads/import/preview",
        data={"campaign": SLUG},
        files={"file": ("a.csv", MIXED.encode(), "text/csv")},
    )
    assert response.status_code == 403
    assert stored_uploads(settings) == []


def test_html_in_a_csv_cell_is_shown_as_text(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    page = upload(client, token, "Name,Email,Email consent\n<b>{{ 7*7 }}</b>,a@example.com,yes\n")
    assert "<b>{{ 7*7 }}</b>" not in page.text
    assert "&lt;b&gt;{{ 7*7 }}&lt;/b&gt;" in page.text
