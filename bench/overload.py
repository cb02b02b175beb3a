"""Lead capture under overload: goodput and p99 at 1x and 3x capacity, shedding or not.

    python -m bench.overload [--seconds 10] [--workers 1 2]

For each number of web processes (`nurture serve --workers N`, PostgreSQL in a throw-away
database), the benchmark first finds the capacity C: captures per second with 32 clients
posting back to back. Then it offers an open-loop load (requests sent on a fixed
schedule, whatever the answers) of 1x and 3x C to POST /api/leads, each request a new
lead, and counts what came back: goodput (new leads per second), the p50 and p99 of
successful captures, and how many were answered 503 (shed) and how fast. The baseline
in the same run is the same server with shedding switched off (a queue as deep as the
thread pool), offered the same 3x load. The last line printed is, per process count,
`overload: <N> worker(s): 3x goodput <G>/s of capacity <C>/s (<R>), p99 <P> s;
without shedding <G2>/s, p99 <P2> s` (on one line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench.loadgen import Answers, Body, closed_loop, open_loop
from bench.seed import create_database, drop_database, sync_seeded_campaign
from nurture.db import make_engine
from tests.e2e.stack import ProcessGroup, python_module
from tests.helpers.net import free_port
from tests.support import REPO

ADMIN_URL = os.environ.get(
    "NURTURE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ARTICLE = "tight-hamstrings-sciatic-nerve"
PATH = "/api/leads"
RESULTS = REPO / "bench" / "results" / "overload.json"
CLIENTS = 32  # closed-loop clients that find the capacity


@dataclass
class Outcome:
    """What one offered load got back."""

    offered: float  # requests per second sent
    answers: Answers

    @property
    def latencies(self) -> dict[int, list[float]]:
        return self.answers.latencies

    @property
    def seconds(self) -> float:
        """From the first request sent to the last answer received."""
        return max(self.answers.last_answer - self.answers.first_sent, 1e-9)

    def count(self, *statuses: int) -> int:
        return sum(len(self.latencies.get(status, [])) for status in statuses)

    @property
    def goodput(self) -> float:
        """Leads captured per second, over the whole time it took."""
        return self.count(201, 200) / self.seconds

    def p(self, quantile: int, *statuses: int) -> float:
        samples = sorted(s for status in statuses for s in self.latencies.get(status, []))
        if len(samples) < 2:
            return samples[0] if samples else float("nan")
        return statistics.quantiles(samples, n=100, method="inclusive")[quantile - 1]

    @property
    def other(self) -> int:
        """Answers that were neither a capture nor a 503, and requests never answered."""
        unexpected = [s for s in self.latencies if s not in (200, 201, 503)]
        return self.count(*unexpected) + self.answers.failed


def lead(tag: str) -> Body:
    """Distinct prospects: the n-th request captures lead n."""

    def body(n: int) -> dict[str, object]:
        return {
            "article": ARTICLE,
            "first_name": "Load",
            "email": f"load-{tag}-{n}@example.com",
            "consent": {"email": True},
        }

    return body


def start_web(
    processes: ProcessGroup, database_url: str, workers: int, shedding: bool, port: int
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NURTURE_", "CLINIC_"))},
        "NURTURE_ENV": "test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",
        "CAPTURE_RATE_LIMIT": "100000000/minute",
        "PYTHONPATH": str(REPO),
        "LOG_FORMAT": "text",
    }
    if not shedding:  # a queue as deep as the thread pool, and a wait longer than any run
        env |= {"WEB_MAX_ACTIVE": "1000", "WEB_MAX_WAIT": "3600"}
    argv = python_module("nurture", "serve", "--port", str(port), "--workers", str(workers))
    process = processes.start(f"web-{workers}-{'shed' if shedding else 'queue'}", argv, env)
    process.wait_for_port(port, timeout=60)
    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).raise_for_status()


@dataclass
class Run:
    workers: int
    capacity: float
    at_1x: Outcome
    at_3x: Outcome
    unshed_3x: Outcome


def measure(database_url: str, workers: int, seconds: float, scratch: Path) -> Run:
    processes = ProcessGroup(scratch / f"logs-{workers}")
    host = "127.0.0.1"
    try:
        port = free_port()
        start_web(processes, database_url, workers, shedding=True, port=port)
        asyncio.run(closed_loop(host, port, PATH, lead(f"{workers}w"), CLIENTS, 3))  # warm
        found = asyncio.run(closed_loop(host, port, PATH, lead(f"{workers}c"), CLIENTS, seconds))
        capacity = Outcome(0, found).goodput
        at_1x = Outcome(
            capacity,
            asyncio.run(open_loop(host, port, PATH, lead(f"{workers}a"), capacity, seconds)),
        )
        at_3x = Outcome(
            capacity * 3,
            asyncio.run(open_loop(host, port, PATH, lead(f"{workers}b"), capacity * 3, seconds)),
        )
        processes.stop_all()
        port = free_port()
        start_web(processes, database_url, workers, shedding=False, port=port)
        asyncio.run(closed_loop(host, port, PATH, lead(f"{workers}x"), CLIENTS, 3))
        unshed_3x = Outcome(
            capacity * 3,
            asyncio.run(open_loop(host, port, PATH, lead(f"{workers}y"), capacity * 3, seconds)),
        )
    finally:
        processes.stop_all()
    return Run(workers, capacity, at_1x, at_3x, unshed_3x)


def _row(table: Table, run: Run, label: str, outcome: Outcome) -> None:
    table.add_row(
        str(run.workers),
        label,
        f"{outcome.offered:.0f}",
        f"{outcome.goodput:.0f}",
        f"{outcome.goodput / run.capacity:.2f}",
        f"{outcome.p(50, 200, 201):.3f}",
        f"{outcome.p(99, 200, 201):.3f}",
        f"{outcome.count(503)}",
        f"{outcome.p(99, 503):.3f}" if outcome.count(503) > 1 else "–",
        str(outcome.other),
    )


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _status(reader: asyncio.StreamReader, timeout: float) -> int | None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return None
    return int(head.split()[1])


async def huge_post(port: int, declared: bool, size: int = 200 * 1024 * 1024) -> int:
    """POST `size` bytes to the SendGrid events webhook; the status (0 if none came back)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    length = f"Content-Length: {size}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
    chunk = b"[" * (1024 * 1024)
    try:
        writer.write(f"POST /webhooks/sendgrid/events HTTP/1.1\r\nHost: x\r\n{length}\r\n".encode())
        # A declared size is answered before any of the body is read.
        early = await _status(reader, 5) if declared else None
        if early is not None:
            return early
        try:
            for _ in range(size // len(chunk)):
                writer.write(chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server stopped reading: its answer is waiting
        return await _status(reader, 30) or 0
    finally:
        writer.close()


def memory_under_huge_posts(database_url: str, scratch: Path) -> dict[str, float | list[int]]:
    """Web RSS before and after five parallel 200 MB posts, declared and streamed."""
    processes = ProcessGroup(scratch / "logs-memory")
    try:
        port = free_port()
        start_web(processes, database_url, 1, shedding=True, port=port)
        pid = processes.processes[-1].popen.pid
        before = rss_mib(pid)

        async def attack(declared: bool) -> list[int]:
            return list(await asyncio.gather(*(huge_post(port, declared) for _ in range(5))))

        declared = asyncio.run(attack(True))
        streamed = asyncio.run(attack(False))
        after = rss_mib(pid)
    finally:
        processes.stop_all()
    return {
        "rss_before_mib": before,
        "rss_after_mib": after,
        "declared": declared,
        "streamed": streamed,
    }


def _figures(outcome: Outcome, capacity: float) -> dict[str, float | int]:
    return {
        "offered_per_s": round(outcome.offered, 1),
        "goodput_per_s": round(outcome.goodput, 1),
        "share_of_capacity": round(outcome.goodput / capacity, 3),
        "p50_s": round(outcome.p(50, 200, 201), 4),
        "p99_s": round(outcome.p(99, 200, 201), 4),
        "shed": outcome.count(503),
        "shed_p99_s": round(outcome.p(99, 503), 4) if outcome.count(503) > 1 else 0,
        "other": outcome.other,
    }


def save(runs: list[Run], memory: dict[str, float | list[int]]) -> None:
    """bench/results/overload.json: the figures of this run."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {
        str(run.workers): {
            "capacity_per_s": round(run.capacity, 1),
            "1x": _figures(run.at_1x, run.capacity),
            "3x": _figures(run.at_3x, run.capacity),
            "3x_without_shedding": _figures(run.unshed_3x, run.capacity),
        }
        for run in runs
    }
    data["huge_posts"] = memory
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


def report(runs: list[Run], memory: dict[str, float | list[int]], console: Console) -> None:
    table = Table(title="Lead capture under overload (POST /api/leads, one new lead each)")
    for header in (
        "web processes",
        "load",
        "offered/s",
        "goodput/s",
        "of capacity",
        "p50 s",
        "p99 s",
        "shed (503)",
        "shed p99 s",
        "other",
    ):
        table.add_column(header, justify="right")
    for run in runs:
        _row(table, run, "1x, shedding", run.at_1x)
        _row(table, run, "3x, shedding", run.at_3x)
        _row(table, run, "3x, no shedding", run.unshed_3x)
    console.print(table)
    for run in runs:
        console.print(f"capacity with {run.workers} web process(es): {run.capacity:.0f} captures/s")
    console.print(
        f"five parallel 200 MB posts to /webhooks/sendgrid/events, declared then streamed: "
        f"answers {memory['declared']} and {memory['streamed']}; web RSS "
        f"{memory['rss_before_mib']:.0f} MiB before, {memory['rss_after_mib']:.0f} MiB after"
    )
    print(
        "overload: "
        + "; ".join(
            f"{run.workers} worker(s): 3x goodput {run.at_3x.goodput:.0f}/s of capacity "
            f"{run.capacity:.0f}/s ({run.at_3x.goodput / run.capacity:.2f}), "
            f"p99 {run.at_3x.p(99, 200, 201):.2f} s; without shedding "
            f"{run.unshed_3x.goodput:.0f}/s, p99 {run.unshed_3x.p(99, 200, 201):.2f} s"
            for run in runs
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    console = Console()
    database_url = create_database(ADMIN_URL)
    engine = make_engine(database_url)
    try:
        sync_seeded_campaign(engine)
        with tempfile.TemporaryDirectory(prefix="nurture-overload-") as scratch:
            memory = memory_under_huge_posts(database_url, Path(scratch))
            runs = [measure(database_url, n, args.seconds, Path(scratch)) for n in args.workers]
    finally:
        engine.dispose()
        drop_database(ADMIN_URL, database_url)
    save(runs, memory)
    report(runs, memory, console)


if __name__ == "__main__":
    main()
