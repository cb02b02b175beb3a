"""A worker killed in the middle of a delivery batch: nothing is sent twice, nothing is lost.

The provider stub runs as its own process and answers slowly, so the SIGKILL lands
while the batch's hand-offs are in flight. The batch was claimed as one (queued ->
sending, committed before any hand-off), so at most that batch is left "sending": the
sweeper marks it unknown, never re-sent (invariant 9: bounded by the worker's
concurrency times its batch). The worker acknowledged the task when it took it, so the
broker never hands it out again: recovery comes from the sweeper alone, which re-enqueues
the batch's still-queued messages (`requeue_lost`) and marks the in-flight one unknown
(`expire_abandoned`).
"""

from __future__ import annotations

import base64
import json
import signal
from collections import Counter
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import SystemClock, utcnow
from nurture.config import Settings
from nurture.messages.models import Message, MessageStatus
from tests.e2e.stack import (
    ProcessGroup,
    celery_client,
    message_rows,
    provider_env,
    service_env,
    stub_argv,
    wait_until,
    worker_argv,
)
from tests.factories import capture
from tests.helpers.net import free_port
from tests.helpers.provider_stub import read_log
from tests.support import REPO

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

LEADS = 40
DELIVERY_BATCH = 20
STUB_DELAY = 0.15  # a 20-message batch then takes ~3 s: the kill lands inside it
KILL_AFTER_HANDOFFS = 3
IN_FLIGHT = {MessageStatus.QUEUED, MessageStatus.SENDING}


@pytest.fixture
def redis_db() -> int:
    return 8


def unacknowledged_deliveries(broker_url: str) -> list[list[int]]:
    """The message ids of every `nurture.deliver` task Redis holds as delivered, unacked.

    Kombu's Redis transport parks a delivered message in the "unacked" hash until it is
    acknowledged, or until the visibility timeout passes and it is restored to the queue.
    """
    client = redis.Redis.from_url(broker_url)
    try:
        parked = client.hvals("unacked")
    finally:
        client.close()
    batches = []
    for raw in parked:
        payload = json.loads(raw)[0]
        if payload["headers"]["task"] == "nurture.deliver":
            args = json.loads(base64.b64decode(payload["body"]))[0]
            batches.append(sorted(args[0]))
    return batches


def enrol_leads(engine: Engine, settings: Settings) -> None:
    """The seeded campaign, and LEADS email-only leads whose first email is due now."""
    factory = sessionmaker(engine, expire_on_commit=False)
    folder = REPO / "templates" / "campaigns" / "hamstring-sciatica"
    with factory.begin() as session:
        sync_campaign(session, load_campaign_dir(folder), utcnow())
    for number in range(LEADS):
        capture(
            factory,
            SystemClock(),
            settings,
            email=f"lead{number:02d}@example.com",
            phone=None,
            sms=False,
        )


def test_worker_killed_mid_batch_never_sends_twice_and_every_message_settles(
    fresh_postgres_url: str,
    engine: Engine,
    broker: str,
    processes: ProcessGroup,
    settings: Settings,
    tmp_path: Path,
) -> None:
    enrol_leads(engine, settings)
    port, stub_log = free_port(), tmp_path / "provider.jsonl"
    env = service_env(
        fresh_postgres_url,
        broker,
        **provider_env(f"http://127.0.0.1:{port}"),
        NURTURE_TIME_SCALE="1",
        NURTURE_DELIVERY_BATCH=str(DELIVERY_BATCH),
        NURTURE_SENDING_LEASE="2",
        NURTURE_REQUEUE_AFTER="2",
    )
    stub = processes.start("provider-stub", stub_argv(port, stub_log, STUB_DELAY), env)
    stub.wait_for_port(port, timeout=15)
    doomed = processes.start("worker-killed", worker_argv("doomed", 1), env)
    doomed.wait_for_log(" ready.", timeout=30)

    with celery_client(broker) as client:
        client.send_task("nurture.dispatch")
        wait_until(
            lambda: len(read_log(stub_log)) >= KILL_AFTER_HANDOFFS,
            30,
            "the first hand-offs to reach the provider",
            interval=0.01,
            abort=doomed.trouble,
        )
        doomed.kill_group(signal.SIGKILL)
        killed_at = utcnow()
        doomed.popen.wait(timeout=10)
        at_kill = {row.id: MessageStatus(row.status) for row in message_rows(engine)}
        first_batch = sorted(at_kill)[:DELIVERY_BATCH]
        in_flight = {i for i, status in at_kill.items() if status is MessageStatus.SENDING}
        stranded = [i for i, status in at_kill.items() if status is MessageStatus.QUEUED]
        assert in_flight and stranded, f"the kill should land mid-batch, statuses were {at_kill}"
        # Concurrency 1: one task, so at most one batch was claimed and in flight.
        assert in_flight <= set(first_batch)

        survivor = processes.start("worker-fresh", worker_argv("fresh", 1), env)
        survivor.wait_for_log(" ready.", timeout=30)

        def settled() -> list[Message] | None:
            client.send_task("nurture.sweep")
            rows = message_rows(engine)
            return rows if all(MessageStatus(r.status) not in IN_FLIGHT for r in rows) else None

        rows = wait_until(
            settled, 90, "every message to settle", interval=1.0, abort=survivor.trouble
        )

    received = read_log(stub_log)
    by_ref = Counter(record["message_ref"] for record in received)
    by_recipient = Counter(record["to"] for record in received)
    assert len(rows) == LEADS
    assert by_ref.most_common(1)[0][1] == 1, f"a message reached the provider twice: {by_ref}"
    assert by_recipient.most_common(1)[0][1] == 1

    sent = [r for r in rows if r.status == MessageStatus.SENT]
    unknown = [r for r in rows if r.status == MessageStatus.UNKNOWN]
    assert len(sent) + len(unknown) == LEADS, Counter(r.status for r in rows)
    # Only the batch in flight at the kill is unknown, with the reason recorded; it is
    # never re-sent, whether or not the provider had each of its messages.
    assert {row.id for row in unknown} == in_flight
    assert len(unknown) <= DELIVERY_BATCH
    for row in unknown:
        assert row.reason and "worker stopped during hand-off" in row.reason
    provider_ids = {record["message_ref"]: record["provider_id"] for record in received}
    for row in sent:
        assert by_ref[row.ref] == 1, (
            f"sent message {row.id} reached the provider {by_ref[row.ref]}x"
        )
        assert row.provider_id == provider_ids[row.ref]
    assert set(by_ref) <= {r.ref for r in sent + unknown}

    # Recovery came from the sweeper: messages still queued at the kill were enqueued
    # again after it, and the broker will never hand out the killed task again.
    for row in rows:
        if row.id in stranded:
            assert row.status == MessageStatus.SENT
            assert row.enqueued_at is not None and row.enqueued_at > killed_at
    assert first_batch not in unacknowledged_deliveries(broker), "the broker kept the task"
