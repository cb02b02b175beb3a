"""Delivery at scale, in one run: the outbox pipeline against one task per message, the
machine's ceiling, lateness, growth with workers and with the database's size, memory.

    python -m bench.run [--n 100000] [--workers 2] [--quick]

Everything runs for real on this machine: Celery worker process groups (prefork) on
Redis, a throw-away PostgreSQL database, the real SendGrid channel posting to
`bench.fast_stub` (an asyncio server that answers 202 and parses nearly nothing, so the
product, not the stub, is measured). Phases:

1. ceiling: as many processes as workers, each with a hand-off pool's threads, posting
   the same email body back to back over kept-alive connections (`bench.ceiling`);
2. naive: one `bench.naive_send` task per message (countdown=1), the design DESIGN.md
   rejects, doing the same per-message work (bench/naive.py);
3. end-to-end: N enrollments fall due at once; `nurture.dispatch`, sent every dispatch
   interval as beat does, writes the outbox and delivery drains it. Timed from the first
   dispatch until all N are `sent`; the worker processes' memory is read along the way;
4. growth: end-to-end again with 1, 2 and 4 worker processes;
5. lateness: enrollments fall due R a second for S seconds; each message's lateness is
   its `sent_at` (after the provider answered) minus its due time;
6. scale: the cost per message (CPU of the workers and of PostgreSQL, and wall time) for a
   10,000 cohort with 10,000 enrollments in the database, then with 1,000,000 more.

Results go to bench/results/latest.json. The last lines printed are
`ceiling: <C> req/s` and `end-to-end: <N> msg/s, naive: <M> msg/s, <R>x`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from bench import procstat
from bench.ceiling import ceiling
from bench.seed import (
    Campaign,
    Cohort,
    add_background,
    add_cohort,
    create_database,
    drop_database,
    make_due,
    spread_due,
    sync_seeded_campaign,
)
from bench.worker import WorkerProcess
from nurture.clock import utcnow
from nurture.config import Settings
from nurture.db import make_engine
from nurture.leads.models import Lead
from nurture.messages.channels.sendgrid import build_mail
from nurture.messages.compose import compose_email
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment
from tests.helpers.net import free_port, wait_for_port
from tests.support import REPO

RESULTS = REPO / "bench" / "results" / "latest.json"
DEFAULT_POSTGRES = os.environ.get(
    "NURTURE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"  # a database number of the benchmark's own
DISPATCH_INTERVAL = 2.0  # the production beat interval (Settings.dispatch_interval_seconds)
HANDOFF_THREADS = 8  # Settings.handoff_concurrency's default
WARM_UP = 200
POLL_SECONDS = 0.1


@dataclass
class Run:
    """One cohort through one design."""

    design: str
    workers: int
    messages: int
    seconds: float
    worker_cpu: float = 0.0  # CPU seconds of the worker process group
    postgres_cpu: float = 0.0  # CPU seconds of every PostgreSQL process
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def as_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "msg_per_s": self.rate,
            "worker_cpu_ms_per_msg": 1000 * self.worker_cpu / self.messages,
            "postgres_cpu_ms_per_msg": 1000 * self.postgres_cpu / self.messages,
        }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="end-to-end messages")
    parser.add_argument("--naive-n", type=int, default=5_000, help="naive design's messages")
    parser.add_argument("--growth-n", type=int, default=20_000, help="messages per growth run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (headline)")
    parser.add_argument("--rate", type=int, default=500, help="lateness: due a second")
    parser.add_argument("--seconds", type=int, default=60, help="lateness: for how long")
    parser.add_argument("--scale-n", type=int, default=10_000, help="scale: cohort and base")
    parser.add_argument("--background", type=int, default=1_000_000, help="scale: more rows")
    parser.add_argument(
        "--quick", action="store_true", help="a few thousand messages per phase, to try it"
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL (database test)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="broker URL; it is flushed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.naive_n, args.growth_n = 5_000, 1_000, 3_000
        args.seconds, args.scale_n, args.background = 10, 2_000, 50_000
    return args


@contextmanager
def fast_stub() -> Iterator[str]:
    """bench.fast_stub on a free port, for the whole run; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fast_stub", "--port", str(port)], cwd=REPO
    )
    try:
        wait_for_port(port, 15)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def stub_total(url: str) -> int:
    with urllib.request.urlopen(f"{url}/__stats", timeout=10) as answer:
        return int(json.loads(answer.read())["total"])


def worker_env(database_url: str, broker_url: str, stub_url: str, data_dir: Path) -> dict[str, str]:
    """The worker's settings: the real SendGrid channel aimed at the stub, real time."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SENDGRID_", "TWILIO_", "NURTURE_", "EMAIL_", "SMS_"))
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


class Bench:
    """The run's shared pieces: database, broker, stub, a progress display."""

    def __init__(self, args: argparse.Namespace, console: Console, scratch: Path) -> None:
        self.args, self.console, self.scratch = args, console, scratch
        self.database_url = create_database(args.postgres)
        self.engine: Engine = make_engine(self.database_url)
        self.broker = redis.Redis.from_url(args.redis)
        self.broker.flushdb()
        self.campaign: Campaign = sync_seeded_campaign(self.engine)
        self.client = Celery("bench-client", broker=args.redis)
        self.client.conf.broker_connection_retry_on_startup = True
        self.stub_url = ""
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._cohorts = 0

    def close(self) -> None:
        self.client.close()
        self.broker.flushdb()
        self.broker.close()
        self.engine.dispose()
        drop_database(self.args.postgres, self.database_url)

    def cohort(self, size: int) -> Cohort:
        self._cohorts += 1
        return add_cohort(self.engine, self.campaign, f"c{self._cohorts}", size)

    @contextmanager
    def worker(self, processes: int) -> Iterator[WorkerProcess]:
        """A worker process group for one phase, warmed up (imports, connections)."""
        env = worker_env(self.database_url, self.args.redis, self.stub_url, self.scratch / "var")
        log = self.scratch / f"worker-{processes}-{time.monotonic_ns()}.log"
        worker = WorkerProcess(env, processes, log)
        try:
            self.deliver(self.cohort(WARM_UP), worker, "warm-up")
            yield worker
        finally:
            worker.stop()

    def sent(self, cohort: Cohort) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        Message.lead_id.between(cohort.first_lead_id, cohort.last_lead_id),
                        Message.status == MessageStatus.SENT,
                    )
                ).scalar_one()
            )

    def others(self, cohort: Cohort) -> dict[str, int]:
        """Cohort messages that ended in anything but sent (there must be none)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Message.status, func.count())
                .where(
                    Message.lead_id.between(cohort.first_lead_id, cohort.last_lead_id),
                    Message.status.not_in(["sent", "queued", "sending", "held"]),
                )
                .group_by(Message.status)
            ).all()
        return {str(status): int(number) for status, number in rows}

    def deliver(
        self,
        cohort: Cohort,
        worker: WorkerProcess,
        label: str,
        *,
        due_now: bool = True,
        on_progress: Callable[[int], None] = lambda sent: None,
    ) -> Run:
        """Dispatch as beat would until the whole cohort is sent; what it took."""
        last_dispatch = -DISPATCH_INTERVAL

        def beat() -> None:
            nonlocal last_dispatch
            if time.perf_counter() - last_dispatch >= DISPATCH_INTERVAL:
                last_dispatch = time.perf_counter()
                self.client.send_task("nurture.dispatch")

        if due_now:  # before the clock starts: from here on they are all due
            make_due(self.engine, cohort, utcnow())
        return self._drain("end-to-end", cohort, worker, label, lambda: None, beat, on_progress)

    def naive(self, cohort: Cohort, worker: WorkerProcess) -> Run:
        """One countdown task per message; timed from the first enqueue until all are sent."""

        def start() -> None:
            step = self.campaign.first_step
            with self.client.producer_or_acquire() as producer:
                for lead_id in range(cohort.first_lead_id, cohort.last_lead_id + 1):
                    self.client.send_task(
                        "bench.naive_send", args=(lead_id, step), countdown=1, producer=producer
                    )

        return self._drain("naive", cohort, worker, "naive", start, lambda: None)

    def _drain(
        self,
        design: str,
        cohort: Cohort,
        worker: WorkerProcess,
        label: str,
        start: Callable[[], None],
        tick: Callable[[], None],
        on_progress: Callable[[int], None] = lambda sent: None,
    ) -> Run:
        """`start()`, then `tick()` until the whole cohort is sent; the time and CPU it took."""
        workers = procstat.CpuMeter(lambda: procstat.group(worker.popen.pid))
        postgres = procstat.CpuMeter(lambda: procstat.named("postgres"))
        started = time.perf_counter()
        start()
        bar = self.progress.add_task(label, total=cohort.size)
        deadline = time.monotonic() + self.args.timeout
        while True:
            tick()
            sent = self.sent(cohort)
            self.progress.update(bar, completed=sent)
            on_progress(sent)
            if sent == cohort.size:
                break
            problem = worker.trouble() or (self.others(cohort) or None)
            if problem or time.monotonic() > deadline:
                raise RuntimeError(f"{label}: {problem or 'timed out'}; see {worker.log_path}")
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        self.progress.remove_task(bar)
        return Run(
            design, worker.concurrency, cohort.size, seconds, workers.used(), postgres.used()
        )


def request_body(bench: Bench) -> bytes:
    """The body delivery posts for the campaign's first email (what the ceiling posts)."""
    step = bench.campaign.definition.spec.steps[0]
    lead = Lead(
        id=1,
        public_id="benchbenchbench0",
        email="lead@bench.example",
        first_name="Lead",
        timezone="America/Chicago",
    )
    settings = Settings()
    email, _ = compose_email(settings, lead, bench.campaign.definition, step, "benchref0000")
    return json.dumps(build_mail(email).get()).encode()


def memory_run(bench: Bench, workers: int, n: int) -> Run:
    """The headline end-to-end run, reading each worker process's memory along the way."""
    with bench.worker(workers) as worker:
        samples: dict[int, list[tuple[int, float]]] = {}
        next_sample = 0

        def sample(sent: int) -> None:
            nonlocal next_sample
            if sent < next_sample:
                return
            next_sample = sent + max(n // 10, 1)
            for pid in procstat.group(worker.popen.pid):
                samples.setdefault(pid, []).append((sent, procstat.rss_mb(pid)))

        run = bench.deliver(bench.cohort(n), worker, f"end-to-end x{workers}", on_progress=sample)
        sample(n)
    run.extra["rss_mb"] = {
        str(pid): {"first": points[0], "last": points[-1], "max": max(mb for _, mb in points)}
        for pid, points in samples.items()
    }
    return run


def lateness_run(bench: Bench, workers: int) -> Run:
    """Enrollments falling due `rate` a second; seconds from due to the provider's answer."""
    rate, seconds = bench.args.rate, bench.args.seconds
    cohort = bench.cohort(rate * seconds)
    with bench.worker(workers) as worker:
        start = utcnow() + timedelta(seconds=3)
        spread_due(bench.engine, cohort, start, rate)
        run = bench.deliver(cohort, worker, f"lateness {rate}/s", due_now=False)
    with bench.engine.connect() as conn:
        late = [
            (sent_at - due_at).total_seconds()
            for sent_at, due_at in conn.execute(
                select(Message.sent_at, Message.due_at).where(
                    Message.lead_id.between(cohort.first_lead_id, cohort.last_lead_id)
                )
            )
            if sent_at is not None and due_at is not None
        ]
    cuts = statistics.quantiles(late, n=100)
    run.design = "lateness"
    run.extra.update({"rate": rate, "seconds": seconds, "p50": cuts[49], "p99": cuts[98]})
    run.extra["max"] = max(late)
    return run


def scale_run(bench: Bench, workers: int, design: str) -> Run:
    """A cohort of `scale_n` delivered, with whatever the database holds besides."""
    with bench.worker(workers) as worker:
        cohort = bench.cohort(bench.args.scale_n)
        with bench.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(Enrollment)).scalar_one()
        run = bench.deliver(cohort, worker, f"{rows:,} enrollments")
    run.design = design
    run.extra["enrollments_in_database"] = rows
    return run


def measure(args: argparse.Namespace, console: Console, scratch: Path) -> dict[str, object]:
    """Every phase, in order, on one database and one stub; the results."""
    bench = Bench(args, console, scratch)
    try:
        with fast_stub() as stub_url, bench.progress:
            bench.stub_url = stub_url
            top = ceiling(stub_url, args.workers, HANDOFF_THREADS, request_body(bench))
            console.print(f"ceiling: {top:.0f} req/s")
            small = scale_run(bench, args.workers, "scale-small")
            console.print(f"adding {args.background:,} enrollments, each with a sent email…")
            add_background(bench.engine, bench.campaign, args.background)
            # From here on every phase runs with the large database.
            large = scale_run(bench, args.workers, "scale-large")
            with bench.worker(args.workers) as worker:
                naive = bench.naive(bench.cohort(args.naive_n), worker)
            headline = memory_run(bench, args.workers, args.n)
            growth = [headline if count == args.workers else None for count in (1, 2, 4)]
            for index, count in enumerate((1, 2, 4)):
                with bench.worker(count) as worker:
                    growth[index] = bench.deliver(
                        bench.cohort(args.growth_n), worker, f"growth x{count}"
                    )
            late = lateness_run(bench, args.workers)
            received = stub_total(stub_url)
    finally:
        bench.close()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "finished_at": utcnow().isoformat(),
        "provider_requests": received,
        "ceiling_req_per_s": top,
        "ceiling_shape": f"{args.workers} processes x {HANDOFF_THREADS} threads",
        "end_to_end": headline.as_dict(),
        "naive": naive.as_dict(),
        "ratio": headline.rate / naive.rate,
        "share_of_ceiling": headline.rate / top,
        "growth": [run.as_dict() for run in growth if run is not None],
        "lateness": late.as_dict(),
        "scale": {
            "small": small.as_dict(),
            "large": large.as_dict(),
            "cpu_ratio": _cpu_per_message(large) / _cpu_per_message(small),
            "wall_ratio": small.rate / large.rate,
        },
    }


def _cpu_per_message(run: Run) -> float:
    return (run.worker_cpu + run.postgres_cpu) / run.messages


def _row(table: Table, label: str, run: dict[str, object], note: str = "") -> None:
    table.add_row(
        label,
        f"{run['messages']:,}",
        f"{run['msg_per_s']:.0f}",
        f"{run['worker_cpu_ms_per_msg']:.2f}",
        f"{run['postgres_cpu_ms_per_msg']:.2f}",
        note,
    )


def report(results: dict[str, Any], console: Console) -> None:
    """The table, the JSON file, and the summary lines (always printed last)."""
    table = Table(title="Delivery: msg/s and CPU per message (ms)")
    for column in ("run", "messages", "msg/s", "worker ms", "postgres ms", "note"):
        table.add_column(column, justify="left" if column in ("run", "note") else "right")
    e2e, naive = results["end_to_end"], results["naive"]
    _row(table, f"end-to-end x{e2e['workers']}", e2e, f"{results['ratio']:.1f}x naive")
    _row(table, f"naive x{naive['workers']}", naive)
    for run in results["growth"]:
        _row(table, f"growth x{run['workers']}", run)
    small, large = results["scale"]["small"], results["scale"]["large"]
    for run in (small, large):
        _row(table, f"{run['extra']['enrollments_in_database']:,} enrollments", run)
    late = results["lateness"]
    _row(
        table,
        f"lateness {late['extra']['rate']}/s",
        late,
        f"p50 {late['extra']['p50']:.2f} s, p99 {late['extra']['p99']:.2f} s",
    )
    console.print(table)
    memory = e2e["extra"]["rss_mb"]
    for pid, points in memory.items():
        (sent0, mb0), (sent1, mb1) = points["first"], points["last"]
        console.print(
            f"worker process {pid}: {mb0:.0f} MiB after {sent0:,} messages, "
            f"{mb1:.0f} MiB after {sent1:,} (max {points['max']:.0f} MiB)"
        )
    console.print(
        f"cost per message at {large['extra']['enrollments_in_database']:,} enrollments is "
        f"{results['scale']['cpu_ratio']:.2f}x the cost at "
        f"{small['extra']['enrollments_in_database']:,} in CPU, "
        f"{results['scale']['wall_ratio']:.2f}x in wall time"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f"results written to {RESULTS.relative_to(REPO)}")
    print(
        f"ceiling: {results['ceiling_req_per_s']:.0f} req/s "
        f"({results['ceiling_shape']}); end-to-end is "
        f"{100 * results['share_of_ceiling']:.0f}% of it",
        flush=True,
    )
    print(
        f"end-to-end: {e2e['msg_per_s']:.0f} msg/s, naive: {naive['msg_per_s']:.0f} msg/s, "
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
        console.print(f"[red]benchmark failed[/red]; worker logs kept in {scratch}")
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    report(results, console)


if __name__ == "__main__":
    main()
