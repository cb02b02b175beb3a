"""Throughput of the outbox design against one countdown task per message, in one run.

    python -m bench.run [--n 2000] [--workers 2]

Both designs get the same N messages, the same real Celery worker processes (prefork)
on the same Redis, the same PostgreSQL database and the same provider stub:

- end-to-end: N enrollments become due at once; `nurture.dispatch` (sent every
  dispatch interval, as beat does) writes the outbox rows and hands their ids to
  `nurture.deliver` in batches. Timed from the first dispatch until all N are `sent`.
- naive: N `bench.naive_send` tasks, each with countdown=1, each doing the same
  per-message work (see bench/naive.py). Timed from the first enqueue until all N
  Message rows exist.

A small warm-up through both paths comes first, so neither pays for imports and
connection set-up. Results go to bench/results/latest.json; the last line printed is
`end-to-end: <N> msg/s, naive: <M> msg/s, <R>x`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import redis
from celery import Celery
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from bench.seed import (
    Campaign,
    Cohort,
    add_cohort,
    create_database,
    drop_database,
    make_due,
    sync_seeded_campaign,
)
from bench.worker import WorkerProcess
from nurture.clock import utcnow
from nurture.db import make_engine
from nurture.messages.models import Message, MessageStatus
from tests.helpers.provider_stub import ProviderStub
from tests.support import REPO

RESULTS = REPO / "bench" / "results" / "latest.json"
DEFAULT_POSTGRES = os.environ.get(
    "NURTURE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"  # a database number of the benchmark's own
DISPATCH_INTERVAL = 2.0  # the production beat interval (Settings.dispatch_interval_seconds)
WARM_UP = 20
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Measurement:
    design: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="messages per design")
    parser.add_argument("--workers", type=int, default=2, help="worker pool processes")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL (database test)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="broker URL; it is flushed")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per phase")
    return parser.parse_args(argv)


def counts(engine: Engine, cohort: Cohort) -> dict[str, int]:
    """The cohort's outbox rows by status."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Message.status, func.count())
            .where(Message.lead_id.between(cohort.first_lead_id, cohort.last_lead_id))
            .group_by(Message.status)
        ).all()
    return {str(status): int(number) for status, number in rows}


def wait_for_cohort(
    engine: Engine,
    cohort: Cohort,
    worker: WorkerProcess,
    progress: Progress,
    timeout: float,
    tick: Callable[[], None] = lambda: None,
) -> None:
    """Poll until every message of the cohort is sent; fail on any other outcome."""
    bar = progress.add_task(cohort.name, total=cohort.size)
    deadline = time.monotonic() + timeout
    while True:
        by_status = counts(engine, cohort)
        sent = by_status.get(MessageStatus.SENT, 0)
        progress.update(bar, completed=sent)
        if sent == cohort.size:
            return
        others = {s: n for s, n in by_status.items() if s not in ("sent", "queued", "sending")}
        problem = worker.trouble() or (f"messages ended {others}" if others else None)
        if problem or time.monotonic() > deadline:
            raise RuntimeError(f"{cohort.name}: {problem or 'timed out'}; see {worker.log_path}")
        tick()
        time.sleep(POLL_SECONDS)


def run_outbox(
    engine: Engine,
    client: Celery,
    cohort: Cohort,
    worker: WorkerProcess,
    progress: Progress,
    timeout: float,
) -> Measurement:
    """All of the cohort due now; dispatch as beat would; time until all are sent."""
    make_due(engine, cohort, utcnow())
    started = time.perf_counter()
    last_dispatch = started
    client.send_task("nurture.dispatch")

    def beat() -> None:
        nonlocal last_dispatch
        if time.perf_counter() - last_dispatch >= DISPATCH_INTERVAL:
            last_dispatch = time.perf_counter()
            client.send_task("nurture.dispatch")

    wait_for_cohort(engine, cohort, worker, progress, timeout, beat)
    return Measurement("end-to-end", cohort.size, time.perf_counter() - started)


def run_naive(
    engine: Engine,
    client: Celery,
    campaign: Campaign,
    cohort: Cohort,
    worker: WorkerProcess,
    progress: Progress,
    timeout: float,
) -> Measurement:
    """One countdown task per message; time from the first enqueue until all are recorded."""
    started = time.perf_counter()
    with client.producer_or_acquire() as producer:
        for lead_id in range(cohort.first_lead_id, cohort.last_lead_id + 1):
            client.send_task(
                "bench.naive_send",
                args=(lead_id, campaign.first_step),
                countdown=1,
                producer=producer,
            )
    wait_for_cohort(engine, cohort, worker, progress, timeout)
    return Measurement("naive", cohort.size, time.perf_counter() - started)


def worker_env(database_url: str, broker_url: str, stub_url: str, data_dir: Path) -> dict[str, str]:
    """The worker's settings: real SendGrid SDK aimed at the stub, real time."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SENDGRID_", "TWILIO_", "NURTURE_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "NURTURE_DATA_DIR": str(data_dir),
            "NURTURE_TIME_SCALE": "1",
            "EMAIL_CHANNEL": "sendgrid",
            "SENDGRID_API_KEY": "SG.bench",
            "SENDGRID_API_URL": stub_url,
            # The benchmark measures throughput, not the clinic's sending policy.
            "EMAIL_FREQUENCY_CAP": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def measure(args: argparse.Namespace, console: Console, scratch: Path) -> dict[str, object]:
    """Set everything up, run both designs, tear everything down; the results."""
    database_url = create_database(args.postgres)
    engine = make_engine(database_url)
    broker = redis.Redis.from_url(args.redis)
    broker.flushdb()
    worker: WorkerProcess | None = None
    try:
        campaign = sync_seeded_campaign(engine)
        cohorts = {
            name: add_cohort(engine, campaign, name, size)
            for name, size in (
                ("warm-up end-to-end", WARM_UP),
                ("warm-up naive", WARM_UP),
                ("end-to-end", args.n),
                ("naive", args.n),
            )
        }
        with ProviderStub() as stub:
            env = worker_env(database_url, args.redis, stub.url, scratch / "var")
            worker = WorkerProcess(env, args.workers, scratch / "worker.log")
            client = Celery("bench-client", broker=args.redis)
            client.conf.broker_connection_retry_on_startup = True
            columns = (
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            try:
                with Progress(*columns, console=console) as progress:
                    # The warm-up also waits out the worker's start.
                    run_outbox(
                        engine,
                        client,
                        cohorts["warm-up end-to-end"],
                        worker,
                        progress,
                        args.timeout,
                    )
                    run_naive(
                        engine,
                        client,
                        campaign,
                        cohorts["warm-up naive"],
                        worker,
                        progress,
                        args.timeout,
                    )
                    outbox = run_outbox(
                        engine, client, cohorts["end-to-end"], worker, progress, args.timeout
                    )
                    naive = run_naive(
                        engine, client, campaign, cohorts["naive"], worker, progress, args.timeout
                    )
            finally:
                client.close()
            requests = stub.count
        expected = 2 * (args.n + WARM_UP)
        if requests != expected:
            raise RuntimeError(f"the provider stub received {requests} sends, not {expected}")
    finally:
        if worker is not None:
            worker.stop()
        broker.flushdb()
        broker.close()
        engine.dispose()
        drop_database(args.postgres, database_url)
    return {
        "n": args.n,
        "workers": args.workers,
        "provider_requests": requests,
        "end_to_end": {**asdict(outbox), "msg_per_s": outbox.rate},
        "naive": {**asdict(naive), "msg_per_s": naive.rate},
        "ratio": outbox.rate / naive.rate,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "finished_at": utcnow().isoformat(),
    }


def report(results: dict[str, object], console: Console) -> None:
    """The table, the JSON file, and the summary line (always printed last)."""
    table = Table(title=f"{results['n']} messages, {results['workers']} worker processes")
    for column in ("design", "seconds", "msg/s"):
        table.add_column(column, justify="left" if column == "design" else "right")
    rows = (
        ("end-to-end (outbox, dispatcher, batched delivery)", results["end_to_end"]),
        ("naive (one countdown task per message)", results["naive"]),
    )
    for label, numbers in rows:
        assert isinstance(numbers, dict)
        table.add_row(label, f"{numbers['seconds']:.2f}", f"{numbers['msg_per_s']:.0f}")
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"results written to {RESULTS.relative_to(REPO)}")
    outbox, naive = results["end_to_end"], results["naive"]
    assert isinstance(outbox, dict) and isinstance(naive, dict)
    print(
        f"end-to-end: {outbox['msg_per_s']:.0f} msg/s, naive: {naive['msg_per_s']:.0f} msg/s, "
        f"{results['ratio']:.1f}x",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and report it."""
    args = parse_args(argv)
    console = Console()
    scratch = Path(tempfile.mkdtemp(prefix="nurture-bench-"))
    try:
        results = measure(args, console, scratch)
    except BaseException:
        console.print(f"[red]benchmark failed[/red]; worker log kept in {scratch}")
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    report(results, console)


if __name__ == "__main__":
    main()
