"""Whether the whole delivery chain works, judged from the heartbeats: the checks behind
/readyz and `nurture doctor`, each naming what is wrong in words an operator can act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.health.heartbeat import BEAT, DISPATCHER, WORKER_PREFIX

# A worker records itself every WORKER_EVERY seconds and beat every BEAT_EVERY seconds;
# three missed beats in a row is "gone", not a slow moment.
WORKER_EVERY = timedelta(seconds=10)
BEAT_EVERY = timedelta(seconds=10)
MISSED = 3


@dataclass(frozen=True, slots=True)
class Check:
    """One link of the chain: `ok`, and a sentence saying what was seen."""

    name: str
    ok: bool
    detail: str


def _age(now: datetime, at: datetime) -> str:
    return f"{max((now - at).total_seconds(), 0):.0f} s ago"


def dispatcher_allowance(dispatch_interval: float) -> timedelta:
    """How long without a dispatcher pass before due messages are known to be waiting."""
    return max(timedelta(seconds=dispatch_interval * 10), timedelta(seconds=30))


def chain_checks(
    heartbeats: Mapping[str, datetime], now: datetime, dispatch_interval: float
) -> list[Check]:
    """Workers, beat and the dispatcher, from their last heartbeats."""
    workers = {
        name.removeprefix(WORKER_PREFIX): at
        for name, at in heartbeats.items()
        if name.startswith(WORKER_PREFIX)
    }
    alive = sorted(name for name, at in workers.items() if now - at <= WORKER_EVERY * MISSED)
    if alive:
        worker = Check("workers", True, f"{len(alive)} answering: {', '.join(alive)}")
    elif workers:
        last = max(workers.values())
        worker = Check(
            "workers", False, f"none answering (the last one was seen {_age(now, last)})"
        )
    else:
        worker = Check("workers", False, "none has ever started: run `nurture worker`")
    beat_at = heartbeats.get(BEAT)
    if beat_at is None:
        beat = Check("beat", False, "has never run: run exactly one `nurture beat`")
    else:
        beat = Check(
            "beat", now - beat_at <= BEAT_EVERY * MISSED, f"last seen {_age(now, beat_at)}"
        )
    return [
        worker,
        beat,
        _dispatcher(heartbeats.get(DISPATCHER), now, dispatch_interval, worker, beat),
    ]


def _dispatcher(
    at: datetime | None, now: datetime, interval: float, worker: Check, beat: Check
) -> Check:
    if at is not None and now - at <= dispatcher_allowance(interval):
        return Check("dispatcher", True, f"last pass {_age(now, at)}")
    seen = "has never run" if at is None else f"last pass {_age(now, at)}"
    if worker.ok and beat.ok:
        # Both processes live but no task reaches a worker: the broker is the gap.
        return Check("dispatcher", False, f"{seen}; beat and workers are up, so check the broker")
    return Check("dispatcher", False, f"{seen}; due messages wait until beat and a worker run")
