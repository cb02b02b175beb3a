"""Leads and bookings that come in through the CLI are announced to webhook endpoints just
as the form's are: `nurture leads add`, `nurture leads import` and `nurture leads book`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from nurture.clock import utcnow
from nurture.config import Settings
from nurture.db import get_sessionmaker
from nurture.webhooks_out.endpoints import add_endpoint
from nurture.webhooks_out.models import EventType, WebhookDelivery
from tests.cli.conftest import Invoke, succeeded

CRM = "https://crm.example.test/hooks"
# Three rows to keep and, on row 4, one whose address is not an address.
SPREADSHEET = (
    "First name,E-mail,Mobile,Email consent,SMS consent\n"
    "Ann,ann@example.com,(217) 555-0101,yes,yes\n"
    "Bea,bea@example.com,,yes,no\n"
    "Bob,bob-at-example.com,,yes,no\n"
    "Cy,cy@example.com,,yes,\n"
)


def subscribe(settings: Settings, *events: EventType) -> None:
    with get_sessionmaker().begin() as session:
        add_endpoint(session, CRM, events, utcnow(), app_secret=settings.secret_key)


def owed() -> list[WebhookDelivery]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_csv_import_announces_each_lead_it_keeps_and_names_the_row_it_skips(
    nurture: Invoke, synced: None, settings: Settings, tmp_path: Path
) -> None:
    subscribe(settings, EventType.CAPTURED)
    path = tmp_path / "spring-fair.csv"
    path.write_text(SPREADSHEET)

    output = succeeded(nurture("leads", "import", str(path), "--campaign", "hamstring-sciatica"))

    assert "Imported 3 leads" in output and "1 rows skipped" in output
    assert any(line.lstrip("│ ").startswith("4 ") for line in output.splitlines())
    captured = [d for d in owed() if d.event_type is EventType.CAPTURED]
    assert sorted(d.payload["lead"]["email"] for d in captured) == [
        "ann@example.com",
        "bea@example.com",
        "cy@example.com",
    ]
    capture = captured[0].payload["capture"]
    assert capture["source"] == "csv-import:spring-fair.csv"
    assert (capture["article"], capture["new_lead"], capture["enrolled"]) == (None, True, True)
    assert len({d.event_id for d in captured}) == 3  # one event per lead


def test_importing_the_same_file_again_announces_each_lead_again_as_known(
    nurture: Invoke, synced: None, settings: Settings, tmp_path: Path
) -> None:
    subscribe(settings, EventType.CAPTURED)
    path = tmp_path / "spring-fair.csv"
    path.write_text(SPREADSHEET)
    succeeded(nurture("leads", "import", str(path), "--campaign", "hamstring-sciatica"))
    succeeded(nurture("leads", "import", str(path), "--campaign", "hamstring-sciatica"))

    again = [d.payload["capture"] for d in owed()[3:]]
    assert [(c["new_lead"], c["enrolled"]) for c in again] == [(False, False)] * 3


def test_nurture_leads_book_announces_one_booking(
    nurture: Invoke, synced: None, settings: Settings
) -> None:
    subscribe(settings, EventType.BOOKED)
    succeeded(
        nurture("leads", "add", "--email", "dana@example.com", "--first-name", "Dana")
    )  # announced as captured, which this endpoint did not choose

    succeeded(nurture("leads", "book", "dana@example.com"))
    again = succeeded(nurture("leads", "book", "dana@example.com"))

    assert "already had a booking" in again  # the same booking: no news
    [booked] = owed()
    assert booked.event_type is EventType.BOOKED
    assert booked.payload["lead"]["email"] == "dana@example.com"
    assert booked.payload["booking"]["source"] == "cli"
    assert booked.payload["booking"]["status"] == "requested"  # a time is agreed later


def test_nurture_leads_add_announces_the_captured_lead(
    nurture: Invoke, synced: None, settings: Settings
) -> None:
    subscribe(settings, EventType.CAPTURED)
    succeeded(nurture("leads", "add", "--email", "dana@example.com", "--first-name", "Dana"))

    [captured] = owed()
    assert captured.payload["lead"]["first_name"] == "Dana"
    assert captured.payload["capture"]["source"] == "cli"
