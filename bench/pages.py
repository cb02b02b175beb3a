"""Console page times with 100,000 leads in PostgreSQL, against /healthz in the same run.

    python -m bench.pages [--leads 100000] [--requests 20] [--only results] [--keep] [--reuse]

A fresh database (nurture_bench_pages, dropped afterwards) is migrated and seeded by
bench/seed_leads.py; the real app runs under uvicorn, and one signed-in admin asks for
each page in turn over HTTP. Each page gets two warm-up requests, then `--requests`
timed ones; the table shows the median and p95 in milliseconds next to the 300 ms
budget and the ratio to /healthz (one request that only asks the database `select 1`).
A page the console does not have yet is reported as missing. Before the pages are
timed, every campaign's results rollup is counted once, as the beat task would, and
that recount's duration is printed on its own. --keep leaves the
seeded database behind and --reuse times against it again (migrated to the latest
revision first), which is how to EXPLAIN a page's queries on the data it was timed
on. The last line printed is
`pages: slowest p95 <N> ms (<page>), budget 300 ms, /healthz median <M> ms, <R>x`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bench.seed import drop_database
from bench.seed_leads import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SeededConsole,
    seed_console,
    seeded_console,
)
from nurture.analytics.rollup import refresh_campaigns
from nurture.clock import utcnow
from nurture.db import make_engine
from nurture.migrate import upgrade
from tests.e2e.stack import ProcessGroup, web_argv
from tests.helpers.net import free_port
from tests.support import REPO

ADMIN_URL = os.environ.get(
    "NURTURE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASE = "nurture_bench_pages"
BUDGET_MS = 300.0
WARM_UP = 2
BASELINE = "/healthz"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Timing:
    label: str
    path: str
    status: int
    samples: list[float]  # milliseconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples, n=20, method="inclusive")[-1]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--postgres", default=ADMIN_URL, help="admin URL (database test)")
    parser.add_argument("--database", default=DATABASE, help="the bench database's name")
    parser.add_argument("--only", action="append", default=[], help="time only this page")
    parser.add_argument("--keep", action="store_true", help="leave the database behind")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database a --keep run left, if any"
    )
    return parser.parse_args(argv)


def _admin(admin_url: str, statement: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _exists(admin_url: str, name: str) -> bool:
    engine = make_engine(admin_url)
    try:
        with engine.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return conn.execute(query, {"name": name}).first() is not None
    finally:
        engine.dispose()


def fresh_database(admin_url: str, name: str = DATABASE) -> str:
    """The database `name`, empty and migrated (a leftover from a killed run is dropped)."""
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    drop_database(admin_url, url)
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    upgrade(url)
    return url


def seeded_database(args: argparse.Namespace) -> tuple[str, SeededConsole]:
    """The database to time against: the one a --keep run left (--reuse), or a new one."""
    url = args.postgres.rsplit("/", 1)[0] + f"/{args.database}"
    if args.reuse and _exists(args.postgres, args.database):
        upgrade(url)
        engine = make_engine(url)
        try:
            seeded = seeded_console(engine)
        finally:
            engine.dispose()
        print(f"reused {seeded.leads} leads and {seeded.messages} messages in {args.database}")
        return url, seeded
    url = fresh_database(args.postgres, args.database)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        seeded = seed_console(engine, args.leads, random.Random(2026))
    finally:
        engine.dispose()
    print(
        f"seeded {seeded.leads} leads and {seeded.messages} messages "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return url, seeded


def recount_results(url: str) -> None:
    """Count every campaign's results rollup once, as beat does, and say how long it took."""
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        campaigns = refresh_campaigns(sessionmaker(engine), utcnow())
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    print(f"results rollup: {campaigns} campaign(s) counted in {took:.2f} s")


def console_pages(seeded: SeededConsole) -> list[tuple[str, str]]:
    """(label, path) of each page timed, the baseline first."""
    filters = {"campaign": seeded.campaign_slug, "status": "active", "email_consent": "yes"}
    deep = seeded.leads // 50 // 2  # half-way through the filtered list
    return [
        ("baseline", BASELINE),
        ("dashboard", "/admin"),
        ("campaigns", "/admin/campaigns"),
        ("campaign", f"/admin/campaigns/{seeded.campaign_slug}"),
        ("leads, page 1", "/admin/leads"),
        ("leads, filtered, deep page", f"/admin/leads?{urlencode(filters | {'page': deep})}"),
        ("lead", f"/admin/leads/{seeded.engaged_public_id}"),
        ("inbox", "/admin/inbox"),
        ("inbox item", f"/admin/inbox/{seeded.inbox_item_id}"),
        ("bookings", "/admin/bookings"),
        ("results", "/admin/results"),
        ("audit log", "/admin/staff/audit"),
    ]


def sign_in(client: httpx.Client) -> None:
    """Sign the client in as the seeded admin through the real form."""
    form = client.get("/admin/login")
    token = CSRF.search(form.text)
    assert token, "no CSRF token on the sign-in page"
    data = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token.group(1)}
    response = client.post("/admin/login", data=data)
    if response.status_code != 303:
        raise SystemExit(f"sign-in failed with {response.status_code}")


def time_page(client: httpx.Client, label: str, path: str, requests: int) -> Timing:
    """Warm the page up, then time `requests` sequential GETs (ms); stops at a non-200."""
    try:
        return _time_page(client, label, path, requests)
    except httpx.HTTPError as exc:  # a page that crashes the connection is reported, not fatal
        print(f"{label}: {type(exc).__name__}: {exc}")
        return Timing(label, path, 0, [])


def _time_page(client: httpx.Client, label: str, path: str, requests: int) -> Timing:
    for _ in range(WARM_UP):
        response = client.get(path)
        if response.status_code != 200:
            return Timing(label, path, response.status_code, [])
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            return Timing(label, path, response.status_code, [])
    return Timing(label, path, 200, samples)


def report(timings: list[Timing]) -> None:
    """One line per page, then the summary line (always last)."""
    baseline = timings[0]
    print(f"{'page':<28} {'median':>8} {'p95':>8} {'budget':>8} {'vs base':>8}  path")
    for timing in timings:
        if not timing.samples:
            state = {404: "missing", 0: "no reply"}.get(timing.status, f"HTTP {timing.status}")
            print(f"{timing.label:<28} {state:>8} {'':>8} {'':>8} {'':>8}  {timing.path}")
            continue
        verdict = "ok" if timing.p95 <= BUDGET_MS else "OVER"
        ratio = timing.median / baseline.median
        print(
            f"{timing.label:<28} {timing.median:>6.1f}ms {timing.p95:>6.1f}ms {verdict:>8} "
            f"{ratio:>7.1f}x  {timing.path}"
        )
    measured = [t for t in timings[1:] if t.samples]
    if not measured:
        print(f"pages: none measured, budget {BUDGET_MS:.0f} ms")
        return
    slowest = max(measured, key=lambda t: t.p95)
    print(
        f"pages: slowest p95 {slowest.p95:.0f} ms ({slowest.label}), budget {BUDGET_MS:.0f} ms, "
        f"{BASELINE} median {baseline.median:.1f} ms, {slowest.p95 / baseline.median:.1f}x"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    url, seeded = seeded_database(args)
    recount_results(url)
    processes = ProcessGroup(Path(tempfile.mkdtemp(prefix="bench-pages-")))
    try:
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "NURTURE_ENV": "development",
                "DATABASE_URL": url,
                "NURTURE_DATA_DIR": str(processes.log_dir / "var"),
                "PYTHONPATH": str(REPO),
            }
        )
        web = processes.start("web", web_argv(port), env)
        web.wait_for_port(port, timeout=30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            sign_in(client)
            timings = [
                time_page(client, label, path, args.requests)
                for label, path in console_pages(seeded)
                if not args.only or label == "baseline" or label in args.only
            ]
        if not timings[0].samples:
            raise SystemExit(f"the baseline {BASELINE} answered {timings[0].status}")
        report(timings)
    finally:
        processes.stop_all()
        if not args.keep:
            drop_database(args.postgres, url)


if __name__ == "__main__":
    main()
