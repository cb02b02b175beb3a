"""`nurture leads import FILE --campaign SLUG`: progress, summary, row errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from nurture.cli.main import app as cli
from nurture.db import get_sessionmaker
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry
from tests.cli.conftest import WIDE, failed_cleanly, succeeded

SLUG = "hamstring-sciatica"
MIXED = (
    "First name,E-mail,Mobile,Email consent,SMS consent\n"
    "Ann,ann@example.com,(217) 555-0101,yes,yes\n"
    "Bob,bob-at-example.com,,yes,no\n"
    "Cy,cy@example.com,,no,no\n"
    "Di,di@example.com,,y,\n"
)


def leads_import(*args: str) -> Result:
    return CliRunner().invoke(cli, ["leads", "import", *args], env=WIDE)


@pytest.fixture
def spreadsheet(tmp_path: Path) -> Path:
    path = tmp_path / "spring-fair.csv"
    path.write_text(MIXED)
    return path


def table_lines(output: str) -> list[str]:
    """The output's lines with table borders and runs of spaces collapsed."""
    return [" ".join(line.replace("│", " ").split()) for line in output.splitlines()]


def counts() -> tuple[int, int]:
    with get_sessionmaker()() as session:
        leads_saved = session.scalar(select(func.count(Lead.id))) or 0
        enrolled = session.scalar(select(func.count(Enrollment.id))) or 0
    return leads_saved, enrolled


def test_import_shows_progress_then_a_summary_and_each_skipped_row(
    synced: None, spreadsheet: Path
) -> None:
    output = succeeded(leads_import(str(spreadsheet), "--campaign", SLUG))
    assert "Importing rows" in output and "4/4" in output
    assert (
        "Imported 2 leads into hamstring-sciatica; 0 were enrolled already (details updated); "
        "2 rows skipped; 2 new leads." in output
    )
    lines = table_lines(output)
    assert "3 E-mail An email address must have an @-sign." in lines
    assert (
        "4 Email consent / SMS consent no consent: the person must have agreed to emails or texts"
        in lines
    )
    assert counts() == (2, 2)
    with get_sessionmaker()() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "leads.imported"))
        detail = entry.one().detail
    assert detail["imported"] == 2 and detail["skipped"] == 2


def test_dry_run_reports_what_would_happen_and_saves_nothing(
    synced: None, spreadsheet: Path
) -> None:
    output = succeeded(leads_import(str(spreadsheet), "--campaign", SLUG, "--dry-run"))
    assert "Dry run: 2 of 4 rows would be imported into hamstring-sciatica, 2 skipped." in output
    assert counts() == (0, 0)


def test_a_file_where_no_row_can_be_imported_exits_1_listing_the_errors(
    synced: None, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Name;Email;Email consent\nAnn;not-an-address;yes\n")
    output = failed_cleanly(leads_import(str(path), "--campaign", SLUG))
    assert "2 Email An email address must have an @-sign." in table_lines(output)
    assert "no row could be imported" in output
    assert counts() == (0, 0)


def test_map_option_names_a_column_the_guess_missed(synced: None, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Who,Contact,OK to email\nAnn,ann@example.com,yes\n")
    refused = failed_cleanly(leads_import(str(path), "--campaign", SLUG))
    assert "Choose the column that holds First name." in refused
    output = succeeded(
        leads_import(
            str(path), "--campaign", SLUG, "--map", "Who=first_name", "--map", "Contact=email"
        )
    )
    assert "Imported 1 leads" in output
    assert counts() == (1, 1)


def test_an_unknown_campaign_or_unreadable_file_is_refused(
    synced: None, spreadsheet: Path, tmp_path: Path
) -> None:
    output = failed_cleanly(leads_import(str(spreadsheet), "--campaign", "nope"))
    assert "--campaign: there is no campaign 'nope'" in output
    workbook = tmp_path / "leads.xlsx"
    workbook.write_bytes(b"PK\x03\x04...")
    assert "Excel workbook" in failed_cleanly(leads_import(str(workbook), "--campaign", SLUG))
    missing = failed_cleanly(leads_import(str(tmp_path / "none.csv"), "--campaign", SLUG))
    assert "No such file" in missing
