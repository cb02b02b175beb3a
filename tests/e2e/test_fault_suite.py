"""The promise under faults, on every commit: real web, beat and workers run the sequence
for a stream of leads captured over HTTP while the suite SIGKILLs workers, restarts a
Redis and a PostgreSQL of its own, and makes the provider refuse (429/500) and hang.

Then: no message sent twice (by ref, and by recipient and content), nothing lost
silently (every step of every lead settled, with a reason unless sent; every request
the provider took has its row), nothing left waiting past its time, no 500 from the web,
and web, beat and the surviving worker reconnected by themselves.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import anchored_clock
from nurture.db import make_engine
from nurture.leads.models import Lead
from nurture.messages.models import SETTLED_STATUSES, Message, MessageStatus
from nurture.migrate import upgrade
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.e2e.own_services import OwnPostgres, OwnRedis, postgres_bin
from tests.e2e.short_campaign import STEP_KEYS, ShortCampaign, templates_with
from tests.e2e.stack import (
    Process,
    ProcessGroup,
    beat_argv,
    sequence_env,
    stub_argv,
    sync_all_campaigns,
    wait_until,
    web_argv,
    worker_argv,
    zone_where_it_is_nine,
)
from tests.helpers.net import free_port
from tests.helpers.provider_stub import read_log
from tests.support import need

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

CAMPAIGN = ShortCampaign(
    slug="faults",
    name="Fault suite",
    description="Five quick steps under fire.",
    article="faults-guide",
    article_title="A guide under fire",
    article_summary="Read while the servers restart.",
    delays=("0m", "5m", "10m", "15m", "20m"),
    sms_hello=(
        "{{ clinic.name }}: Hi {{ first_name }}, your guide: {{ article_url }} "
        "Reply STOP to opt out."
    ),
)
LEADS = 60  # captured one a second
# One virtual hour every 12 real seconds: a sequence takes 4 s, and a lead captured at
# 09:00 has 156 s of sending hours left for texts, however long the faults delay them.
SCALE = 300
HANDED_OFF = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNKNOWN}


@dataclass
class Faults:
    """What the suite did, and when: seconds from the first capture, and wall-clock time."""

    done: list[tuple[float, float, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        self.done.append((time.monotonic() - self.started, time.time(), what))

    def when(self, prefix: str) -> tuple[float, float]:
        """(seconds from start, wall-clock time) of the first fault noted as `prefix`..."""
        return next((at, wall) for at, wall, what in self.done if what.startswith(prefix))


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bin_dir = postgres_bin()
    need("PostgreSQL server programs (initdb, pg_ctl)", bin_dir is not None)
    assert bin_dir is not None
    server = OwnPostgres.create(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis.create(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _faults(stub_url: str, **settings: float) -> None:
    httpx.post(f"{stub_url}/__faults", json=settings, timeout=5).raise_for_status()


@dataclass
class Web:
    url: str
    server_errors: list[str] = field(default_factory=list)
    captured: list[tuple[float, str]] = field(default_factory=list)  # (when, public id)
    busy: int = 0  # 503 answers (the database was down): the site tries again

    def capture(self, n: int, zone: str) -> bool:
        body = {
            "article": CAMPAIGN.article,
            "first_name": f"Lead{n}",
            "email": f"lead{n}@example.com",
            "phone": f"+1217555{100 + n:04d}",
            "timezone": zone,
            "consent": {"email": True, "sms": True},
        }
        try:
            response = httpx.post(f"{self.url}/api/leads", json=body, timeout=15)
        except httpx.HTTPError:
            return False
        if response.status_code >= 500:
            if response.status_code == 503 and response.headers.get("retry-after"):
                self.busy += 1
                return False
            self.server_errors.append(f"{response.status_code}: {response.text[:300]}")
            return False
        assert response.status_code in (200, 201), response.text
        self.captured.append((time.monotonic(), response.json()["lead_id"]))
        return True


@pytest.fixture
def own_database(own_postgres: OwnPostgres) -> Iterator[tuple[str, Engine]]:
    """A migrated database on the suite's own PostgreSQL, and an engine closed afterwards
    (a failed check must not leave connections for a later test to trip over)."""
    database = _new_database(own_postgres)
    engine = make_engine(database)
    yield database, engine
    engine.dispose()


def test_no_message_is_lost_or_sent_twice_while_everything_fails(
    tmp_path: Path,
    processes: ProcessGroup,
    own_postgres: OwnPostgres,
    own_database: tuple[str, Engine],
    own_redis: OwnRedis,
) -> None:
    database, engine = own_database
    templates = templates_with(CAMPAIGN, tmp_path / "templates")
    sync_all_campaigns(engine, templates)
    clock = anchored_clock(sessionmaker(engine, expire_on_commit=False), SCALE)
    stub_port, stub_log = free_port(), tmp_path / "stub.jsonl"
    stub = processes.start("stub", stub_argv(stub_port, stub_log, 0.0), _plain_env())
    stub.wait_for_port(stub_port, 30)
    stub_url = f"http://127.0.0.1:{stub_port}"
    env = sequence_env(
        database,
        own_redis.url,
        stub_url,
        templates,
        tmp_path / "var",
        NURTURE_SWEEP_INTERVAL="1",
        NURTURE_REQUEUE_AFTER="4",
        NURTURE_SENDING_LEASE="8",
        PROVIDER_TIMEOUT_SECONDS="2",
        NURTURE_DELIVERY_BATCH="10",
        CAPTURE_RATE_LIMIT="100000/minute",
        # Paced, but fast enough that the texts of 60 leads do not queue behind the clinic's
        # real one-a-second number for a minute after the faults end.
        SMS_SEND_RATE="20",
    )
    env["NURTURE_TIME_SCALE"] = str(SCALE)
    web_port = free_port()
    workers = [processes.start("worker-1", worker_argv("faults-1", 2), env)]
    beat = processes.start("beat", beat_argv(tmp_path / "beat-schedule"), env)
    web_process = processes.start("web", web_argv(web_port), env)
    workers[0].wait_for_log(" ready.", timeout=60)
    web_process.wait_for_port(web_port, timeout=60)
    web = Web(f"http://127.0.0.1:{web_port}")
    faults = Faults()
    schedule: dict[int, Callable[[], None]] = {
        4: lambda: (
            _faults(stub_url, error_rate=0.15),
            faults.note("provider: 15% answer 429/500"),
        ),
        8: lambda: _kill_worker(processes, workers, env, faults),
        14: lambda: _kill_worker(processes, workers, env, faults),
        18: lambda: (_faults(stub_url), faults.note("provider: healthy")),
        # From here on nothing is restarted for the suite: the survivors must reconnect.
        20: lambda: _restart(own_redis, 4, faults, "Redis"),
        30: lambda: _restart(own_postgres, 6, faults, "PostgreSQL"),
        40: lambda: (
            _faults(stub_url, hang_rate=0.15, hang_seconds=8),
            faults.note("provider: 15% hang 8 s (client timeout 2 s)"),
        ),
        50: lambda: (_faults(stub_url), faults.note("provider: healthy")),
    }
    n, injected = 0, []
    for second in range(LEADS):
        tick = faults.started + second
        time.sleep(max(tick - time.monotonic(), 0))
        if second in schedule:  # in the background: captures go on during an outage
            injected.append(threading.Thread(target=schedule[second]))
            injected[-1].start()
        if web.capture(n, zone_where_it_is_nine(clock.now())):
            n += 1
    for thread in injected:
        thread.join()
    faults_over, loop_over = time.monotonic(), time.time()
    settled = wait_until(
        lambda: _settled(engine, n),
        240,
        "every lead's sequence to settle",
        interval=1,
    )
    settle_seconds = time.monotonic() - faults_over
    records = read_log(stub_log)
    report = _check(engine, records, web, n)
    report["refused"] = httpx.get(f"{stub_url}/__faults", timeout=5).json()["refused"]

    # Everyone not SIGKILLed on purpose came back by itself: the web captured leads after
    # PostgreSQL's restart, and texts and emails reached the provider after both restarts.
    survivors = [web_process, beat, workers[-1]]
    assert all(process.alive() for process in survivors), [p.name for p in survivors]
    postgres_back, postgres_wall = faults.when("PostgreSQL up")
    _, redis_wall = faults.when("Redis up")
    assert any(at - faults.started > postgres_back for at, _ in web.captured)
    reconnected = max(postgres_wall, redis_wall)
    assert any(reconnected < float(r["received_at"]) < loop_over for r in records)
    hung = sum(1 for record in records if record.get("hung"))
    print(
        f"fault suite: {len(faults.done)} faults, {n} leads, {report['rows']} messages "
        f"({hung} hand-offs hung by the provider), "
        f"({report['sent']} sent, {report['unknown']} unknown, {report['failed']} failed), "
        f"{report['refused']} provider refusals, 0 duplicates, 0 lost, 0 stuck, "
        f"{web.busy} captures answered 503 while PostgreSQL was down, "
        f"settled {settle_seconds:.0f} s after the last fault; {settled}"
    )
    for at, _, what in faults.done:
        print(f"  t+{at:5.1f} s  {what}")
    wall_start = faults.done[0][1] - faults.done[0][0]
    buckets = Counter(int((float(r["received_at"]) - wall_start) // 5) * 5 for r in records)
    print("  hand-offs by 5 s:", dict(sorted(buckets.items())))


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("NURTURE_", "DATABASE_"))}


def _new_database(server: OwnPostgres) -> str:
    admin = make_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE nurture"))
    admin.dispose()
    url = server.url.rsplit("/", 1)[0] + "/nurture"
    upgrade(url)
    return url


def _kill_worker(
    processes: ProcessGroup, workers: list[Process], env: dict[str, str], faults: Faults
) -> None:
    """SIGKILL the running worker and its pool, mid-batch, and start another."""
    workers[-1].kill_group()
    faults.note(f"{workers[-1].name}: SIGKILLed with its pool")
    name = f"worker-{len(workers) + 1}"
    workers.append(processes.start(name, worker_argv(f"faults-{len(workers) + 1}", 2), env))


def _restart(server: OwnPostgres | OwnRedis, down: float, faults: Faults, name: str) -> None:
    server.stop()
    faults.note(f"{name} down")
    time.sleep(down)
    server.start()
    faults.note(f"{name} up after {down:.0f} s")


def _settled(engine: Engine, leads: int) -> str | None:
    """A summary once every enrollment has ended and every message has settled (a text
    held for its sender's rate, due a little later, is still to come)."""
    with Session(engine) as session:
        running = session.scalar(
            select(func.count()).where(Enrollment.status == EnrollmentStatus.ACTIVE)
        )
        waiting = session.scalar(
            select(func.count()).where(
                Message.status.in_(
                    [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD]
                )
            )
        )
        enrolled = session.scalar(select(func.count()).select_from(Enrollment))
    if running or waiting or enrolled != leads:
        return None
    return f"{enrolled} enrollments ended, no message waiting"


def _check(
    engine: Engine, records: list[dict[str, object]], web: Web, leads: int
) -> dict[str, int]:
    """Every promise, checked; the counts for the report."""
    assert web.server_errors == [], web.server_errors
    with Session(engine) as session:
        rows = list(session.scalars(select(Message)))
        phones = dict(session.execute(select(Lead.id, Lead.phone)).all())
    by_ref = {row.ref: row for row in rows}
    by_sid = {row.provider_id: row for row in rows if row.provider_id}
    # No duplicate: each ref handed over once, and nobody got the same content twice.
    refs = Counter(r["message_ref"] for r in records if r["provider"] == "sendgrid")
    assert [ref for ref, n in refs.items() if n > 1] == []
    content = Counter((r["to"], r.get("subject") or r.get("body")) for r in records)
    assert [key for key, n in content.items() if n > 1] == []
    # Every request the provider took has its row, settled as handed off.
    for record in records:
        if record["provider"] == "sendgrid":
            row = by_ref.get(str(record["message_ref"]))
        else:
            row = by_sid.get(str(record["provider_id"])) or next(
                (
                    r
                    for r in rows
                    if r.status == MessageStatus.UNKNOWN
                    and phones[r.lead_id] == record["to"]
                    and r.summary == record["body"]
                ),
                None,
            )
        assert row is not None and row.status in HANDED_OFF, record
    # Nothing lost silently: every step of every lead is settled, with a reason unless sent.
    steps = Counter(row.enrollment_id for row in rows if row.enrollment_id)
    assert len(steps) == leads and set(steps.values()) == {len(STEP_KEYS)}, steps
    for row in rows:
        assert row.status in SETTLED_STATUSES, (row.step_key, row.status, row.reason, row.due_at)
        assert row.status in (MessageStatus.SENT, MessageStatus.DELIVERED) or row.reason, row.id
    # And nothing claims "sent" that the provider never had.
    taken = {str(r["message_ref"]) for r in records} | {str(r["provider_id"]) for r in records}
    for row in rows:
        if row.status == MessageStatus.SENT:
            assert row.ref in taken or row.provider_id in taken, row.id
    statuses = Counter(row.status for row in rows)
    return {
        "rows": len(rows),
        "sent": statuses[MessageStatus.SENT] + statuses[MessageStatus.DELIVERED],
        "unknown": statuses[MessageStatus.UNKNOWN],
        "failed": statuses[MessageStatus.FAILED],
    }
