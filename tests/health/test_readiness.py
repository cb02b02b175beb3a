"""What /readyz and `nurture doctor` say about the delivery chain, from its heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.health.readiness import chain_checks

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def checks(**ages: float | None) -> dict[str, tuple[bool, str]]:
    """The checks for heartbeats `ages` seconds old (None: never recorded)."""
    names = {"worker": "worker:celery@a", "beat": "beat", "dispatcher": "dispatcher"}
    heartbeats = {
        names[key]: NOW - timedelta(seconds=age) for key, age in ages.items() if age is not None
    }
    return {c.name: (c.ok, c.detail) for c in chain_checks(heartbeats, NOW, 2.0)}


def test_a_running_chain_is_ready() -> None:
    result = checks(worker=4, beat=3, dispatcher=1)
    assert all(ok for ok, _ in result.values())
    assert result["workers"][1] == "1 answering: celery@a"


def test_a_dead_worker_is_named_with_when_it_was_last_seen() -> None:
    result = checks(worker=95, beat=3, dispatcher=95)
    assert result["workers"] == (False, "none answering (the last one was seen 95 s ago)")
    assert result["dispatcher"][0] is False
    assert "until beat and a worker run" in result["dispatcher"][1]


def test_a_chain_that_never_started_says_what_to_run() -> None:
    result = checks()
    assert result["workers"] == (False, "none has ever started: run `nurture worker`")
    assert result["beat"] == (False, "has never run: run exactly one `nurture beat`")
    assert result["dispatcher"][1].startswith("has never run")


def test_beat_and_workers_up_without_dispatcher_passes_points_at_the_broker() -> None:
    result = checks(worker=2, beat=2, dispatcher=120)
    assert result["dispatcher"] == (
        False,
        "last pass 120 s ago; beat and workers are up, so check the broker",
    )


def test_the_dispatcher_may_skip_a_few_ticks_before_it_counts_as_stalled() -> None:
    assert checks(worker=2, beat=2, dispatcher=25)["dispatcher"][0] is True
    assert checks(worker=2, beat=2, dispatcher=31)["dispatcher"][0] is False
