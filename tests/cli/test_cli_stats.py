"""`nurture stats`: the numbers staff read, straight from the rows."""

from __future__ import annotations

from nurture.clock import utcnow
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.sequences.dispatch import dispatch_due
from tests.cli.conftest import Invoke, failed_cleanly, succeeded


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
    output = succeeded(nurture("stats"))
    assert "enrolled 2   active 1   completed 0   exited 1 (booked a screening: 1)" in output
    lines = output.splitlines()
    header = next(line.split() for line in lines if line.split()[:2] == ["step", "channel"])
    welcome = next(line.split() for line in lines if line.split()[:1] == ["welcome-article"])
    counts = dict(zip(header, welcome, strict=True))
    assert counts == {
        "step": "welcome-article",
        "channel": "email",
        "queued": "1",
        "sent": "0",
        "skipped": "1",
    }
    assert "welcome-article: 1 × exit goal reached: screening booked" in output


def test_stats_for_an_unknown_campaign_is_a_clear_error(nurture: Invoke, synced: None) -> None:
    output = failed_cleanly(nurture("stats", "--campaign", "knees"))
    assert "no campaign has the slug 'knees'" in output
