"""`nurture leads export`: the console's CSV from the command line, with the same filters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.cli.conftest import Invoke, failed_cleanly, succeeded

DANA = ("leads", "add", "--email", "dana@example.com", "--first-name", "Dana")
ELI = ("leads", "add", "--email", "eli@example.com", "--first-name", "=Eli")
ELI_TEXTS = ("--phone", "(217) 555-0101", "--sms-consent")


def test_export_to_a_file_writes_the_filtered_leads(
    nurture: Invoke, synced: None, tmp_path: Path
) -> None:
    succeeded(nurture(*DANA))
    succeeded(nurture(*ELI, *ELI_TEXTS))
    target = tmp_path / "leads.csv"
    output = succeeded(nurture("leads", "export", "--out", str(target), "--sms-consent", "yes"))
    assert f"wrote 1 leads to {target}" in output
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["public_id", "first_name", "email"]
    assert [row[1:3] for row in rows[1:]] == [["'=Eli", "eli@example.com"]]


def test_export_to_stdout_filters_by_campaign_and_status(nurture: Invoke, synced: None) -> None:
    succeeded(nurture(*DANA))
    output = succeeded(
        nurture("leads", "export", "--campaign", "hamstring-sciatica", "--status", "active")
    )
    rows = list(csv.reader(io.StringIO(output)))
    assert [row[2] for row in rows[1:]] == ["dana@example.com"]
    paused = succeeded(nurture("leads", "export", "--status", "paused"))
    assert len(list(csv.reader(io.StringIO(paused)))) == 1  # the header alone


def test_export_names_the_option_it_cannot_read(nurture: Invoke, synced: None) -> None:
    output = failed_cleanly(nurture("leads", "export", "--campaign", "nope", "--booked", "maybe"))
    assert "--campaign: there is no campaign 'nope'" in output
    assert "--booked: choose yes or no, not 'maybe'" in output
    output = failed_cleanly(nurture("leads", "export", "--out", "/nonexistent/dir/leads.csv"))
    assert "--out /nonexistent/dir/leads.csv" in output


def test_export_filters_by_engagement_and_names_a_bad_number_of_days(
    nurture: Invoke, synced: None
) -> None:
    succeeded(nurture(*DANA))
    quiet = succeeded(nurture("leads", "export", "--not-engaged-days", "30", "--clicked", "no"))
    assert [row[2] for row in list(csv.reader(io.StringIO(quiet)))[1:]] == ["dana@example.com"]
    replied = succeeded(nurture("leads", "export", "--replied", "yes"))
    assert len(list(csv.reader(io.StringIO(replied)))) == 1  # the header alone
    output = failed_cleanly(
        nurture("leads", "export", "--not-engaged-days", "a week", "--opened", "maybe")
    )
    assert "--not-engaged-days: a whole number of days from 1 to 3650, not 'a week'" in output
    assert "--opened: choose yes or no, not 'maybe'" in output
