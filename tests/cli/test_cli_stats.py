"""`nurture stats`: the numbers staff read, straight from the rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from nurture.clock import ManualClock, utcnow
from nurture.config import Settings, get_settings
from nurture.consent.policy import SendingPolicy
from nurture.db import get_engine, get_sessionmaker
from nurture.sequences.dispatch import dispatch_due
from nurture.web.app import create_app
from tests.analytics.reading import cli_table, csv_blocks, csv_variant_block, filled, page_table
from tests.analytics.scenario import FUNNEL_ALL, FUNNEL_FROM_THURSDAY, seed_results
from tests.cli.conftest import Invoke, failed_cleanly, succeeded
from tests.support import START, Database
from tests.web.admin.console import sign_in_as

SLUG = "hamstring-sciatica"


def test_stats_show_outcomes_statuses_and_skip_reasons(
    nurture: Invoke, synced: None, settings: Settings
) -> None:
    for email, name in (("ann@example.com", "Ann"), ("bo@example.com", "Bo")):
        succeeded(nurture("leads", "add", "--email", email, "--first-name", name))
    # Both welcome emails are written (and wait for a worker); then Bo books.
    dispatch_due(
        get_sessionmaker(),
        utcnow(),
        lambda ids: None,
        batch_size=10,
        clinic_zone=settings.clinic_zone,
        policy=SendingPolicy.from_settings(settings),
    )
    succeeded(nurture("leads", "book", "bo@example.com"))
    output = succeeded(nurture("stats", "--campaign", SLUG))
    assert "enrolled 2   active 1   completed 0   exited 1 (booked a screening: 1)" in output
    # The messages-by-status table follows the results tables: read its rows after its header.
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["step", "channel"])
    header = lines[at].split()
    welcome = next(line.split() for line in lines[at:] if line.split()[:1] == ["welcome-article"])
    counts = dict(zip(header, welcome, strict=True))
    assert counts == {
        "step": "welcome-article",
        "channel": "email",
        "queued": "1",
        "sent": "0",
        "skipped": "1",
    }
    assert "welcome-article: 1 × exit goal reached: screening booked" in output


def test_stats_recount_before_printing_so_a_new_lead_shows_at_once(
    nurture: Invoke, synced: None
) -> None:
    def enrolled() -> int:
        _, funnel, _ = csv_blocks(succeeded(nurture("stats", "--campaign", SLUG, "--csv")))
        return int(funnel[1][1])

    succeeded(nurture("leads", "add", "--email", "ann@example.com", "--first-name", "Ann"))
    assert enrolled() == 1
    succeeded(nurture("leads", "add", "--email", "bo@example.com", "--first-name", "Bo"))
    assert enrolled() == 2


def test_stats_for_an_unknown_campaign_is_a_clear_error(nurture: Invoke, synced: None) -> None:
    output = failed_cleanly(nurture("stats", "--campaign", "knees"))
    assert "no campaign has the slug 'knees'" in output


@pytest.fixture(params=["sqlite", "postgres"])
def cli_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[Database]:
    """The database `nurture` commands use: the settings' SQLite file, or a fresh PostgreSQL."""
    if request.param == "postgres":
        url = request.getfixturevalue("fresh_postgres_url")
        monkeypatch.setenv("DATABASE_URL", url)
        get_engine().dispose()
        for cached in (get_settings, get_engine, get_sessionmaker):
            cached.cache_clear()
    yield Database(request.param, get_settings().database_url, get_engine(), get_sessionmaker())
    get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()


@pytest.mark.parametrize("since", ["", "2026-11-05"])
def test_stats_the_results_page_and_the_csv_show_the_same_numbers(
    nurture: Invoke, cli_database: Database, since: str
) -> None:
    succeeded(nurture("db", "upgrade"))
    succeeded(nurture("campaigns", "sync"))
    clock = ManualClock(START)
    seed_results(cli_database.factory, clock, get_settings())
    dates = ["--since", since] if since else []
    printed = succeeded(nurture("stats", "--campaign", SLUG, *dates))
    exported = succeeded(nurture("stats", "--campaign", SLUG, *dates, "--csv"))
    app = create_app()
    app.state.clock = clock
    with TestClient(app, follow_redirects=False) as client:
        sign_in_as(client, cli_database, clock, "marketing")
        page = client.get("/admin/results", params={"campaign": SLUG, "since": since}).text
        download = client.get(
            "/admin/results/export.csv", params={"campaign": SLUG, "since": since}
        ).text
    _, csv_funnel, csv_steps = csv_blocks(exported)
    page_funnel = page_table(page, "funnel-table")
    page_steps = page_table(page, "step-results")
    assert filled(cli_table(printed, "Stage")) == filled(page_funnel) == filled(csv_funnel)
    assert filled(cli_table(printed, "Step ")) == filled(page_steps) == filled(csv_steps)
    expected = FUNNEL_FROM_THURSDAY if since else FUNNEL_ALL
    assert {row[0]: int(row[1]) for row in csv_funnel[1:]} == expected
    assert "Leads enrolled from 5 Nov 2026" in printed or not since
    # The seeded campaign tests the anatomy email's subject: both files list its variants.
    variants = csv_variant_block(exported)
    assert [row[:3] for row in variants[1:]] == [
        ["anatomy-link", "email", "anatomy"],
        ["anatomy-link", "email", "nerve-path"],
    ]
    assert variants == csv_variant_block(download)


def test_stats_refuse_a_bad_date_naming_the_option(nurture: Invoke, synced: None) -> None:
    output = failed_cleanly(nurture("stats", "--since", "2026-11-02", "--until", "Tuesday"))
    assert "--until: 'Tuesday' is not a date; use YYYY-MM-DD" in output
