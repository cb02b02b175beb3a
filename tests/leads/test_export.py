"""Leads as CSV: the filtered leads, one row each, and nothing a spreadsheet would execute."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.export import COLUMNS, write_leads_csv
from nurture.leads.search import LeadFilter
from nurture.spreadsheet import neutralise
from tests.factories import capture
from tests.support import Database


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+12175550101", "'+12175550101"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Dana", "Dana"),
        ("dana@example.com", "dana@example.com"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_as_formulas_get_a_quote(cell: str, written: str) -> None:
    assert neutralise(cell) == written


def test_export_writes_a_header_and_one_row_per_matching_lead(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings, email="ann@example.com", first_name="Ann", phone=None)
    clock.advance(timedelta(minutes=1))
    ben = capture(
        db.factory, clock, settings, email="ben@example.com", first_name="=cmd|' /C calc'!A0"
    )
    out = io.StringIO()
    with db.factory() as session:
        count = write_leads_csv(session, out, LeadFilter(sms_consent=True), settings.clinic_zone)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert count == 1
    assert rows[0] == list(COLUMNS)
    assert rows[1] == [
        ben.lead_public_id,
        "'=cmd|' /C calc'!A0",
        "ben@example.com",
        "'+12175550199",
        "America/Chicago",
        clock.now().isoformat(timespec="seconds"),
        "hamstring-sciatica: active",
        "yes",
        "yes",
        "no",
    ]


def test_export_with_no_match_is_the_header_alone(db: Database, settings: Settings) -> None:
    out = io.StringIO()
    with db.factory() as session:
        assert write_leads_csv(session, out, LeadFilter(booked=True), settings.clinic_zone) == 0
    assert out.getvalue().splitlines() == [",".join(COLUMNS)]
