"""`nurture campaigns timeline --behaviour`: the path a lead takes through the branches."""

from __future__ import annotations

from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry

START = ("campaigns", "timeline", "hamstring-sciatica", "--start", "2026-11-02T09:00")


def test_a_lead_who_opens_nothing_is_sent_the_short_text_and_told_why(nurture: Invoke) -> None:
    output = succeeded(nurture(*START))
    assert "signs up Mon 2 Nov 09:00 CST and opens nothing" in output
    entry = timeline_entry(output, "sms-anatomy-short")
    assert "Tue 10 Nov 10:00 CST" in entry
    assert "branch taken: anatomy-link not opened within 3d" in entry
    assert "skipped" not in entry


def test_a_lead_who_opens_everything_skips_the_short_text(nurture: Invoke) -> None:
    output = succeeded(nurture(*START, "--behaviour", "opens everything"))
    entry = timeline_entry(output, "sms-anatomy-short")
    assert "skipped: branch not taken: opened anatomy-link on day 4" in entry
    assert "skipped" not in timeline_entry(output, "how-pt-finds-cause")


def test_an_unknown_behaviour_names_the_option_and_the_choices(nurture: Invoke) -> None:
    message = failed_cleanly(nurture(*START, "--behaviour", "clicks step 3"))
    assert "--behaviour 'clicks step 3' is not a behaviour" in message
    assert "anatomy-link" in message
