"""Outbound webhooks reach a real HTTP endpoint: signed, in order for each lead, retried
with growing waits after a failure, given up in the end, and never holding up other leads."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from typing import Any

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.webhooks_out.endpoints import set_enabled
from nurture.webhooks_out.models import DeliveryStatus
from nurture.webhooks_out.signing import SIGNATURE_HEADER, verify
from tests.support import REPO, Database
from tests.webhooks_out.outbox import POLICY, deliveries, download, endpoint, send, stop_email
from tests.webhooks_out.receiver import receiver


def test_a_captured_lead_reaches_the_endpoint_signed_with_its_secret(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with receiver() as crm:
        _, secret = endpoint(db, clock, crm.url)
        download(db, clock, settings, "dana")
        assert send(db, clock).delivered == 1

    [post] = crm.received
    now = int(clock.now().timestamp())
    header = post.headers[SIGNATURE_HEADER]
    assert verify(secret, header, post.body, now)
    assert not verify(secret + "x", header, post.body, now)  # another secret: refused
    assert not verify(secret, header, post.body.replace(b"Dana", b"Dina"), now)  # altered body
    assert not verify(secret, header, post.body, now + 3600)  # an old post replayed later
    assert post.headers["Nurture-Event"] == "lead.captured"
    payload = post.payload
    assert payload["type"] == "lead.captured"
    assert payload["id"] == post.headers["Nurture-Event-Id"]
    assert payload["occurred_at"] == clock.now().isoformat().replace("+00:00", "Z")
    lead = payload["lead"]
    assert (lead["first_name"], lead["email"], lead["phone"], lead["language"]) == (
        "Dana",
        "dana@example.com",
        "+12175550199",
        "en",
    )
    assert len(lead["id"]) == 32  # the public id, never the database's row number
    assert secret not in post.body.decode()
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )


def test_a_failed_post_is_retried_after_a_wait_and_the_lead_s_next_event_waits_behind_it(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with receiver() as crm:
        endpoint(db, clock, crm.url)
        crm.answers["ann@example.com"] = [500]
        ann = download(db, clock, settings, "ann")
        stop_email(db, clock, ann)  # Ann's second event, queued behind her first
        download(db, clock, settings, "ben")

        first = send(db, clock)
        assert (first.delivered, first.failed) == (1, 1)  # Ben's went; Ann's got a 500
        assert crm.seen("ann@example.com") == ["lead.captured"]  # her opt-out waits
        assert crm.seen("ben@example.com") == ["lead.captured"]

        clock.advance(timedelta(seconds=29))
        assert send(db, clock).attempted == 0  # not due yet, and nothing may overtake it
        clock.advance(timedelta(seconds=2))
        assert send(db, clock).delivered == 1  # the retry
        assert send(db, clock).delivered == 1  # then, in its turn, the opt-out

    assert crm.seen("ann@example.com") == ["lead.captured", "lead.captured", "lead.opted_out"]
    assert crm.received[-1].payload["channel"] == "email"
    ann_posts = [p for p in crm.payloads if p["lead"]["email"] == "ann@example.com"]
    assert ann_posts[0]["id"] == ann_posts[1]["id"]  # the same event: a receiver drops a repeat
    assert [(d.status, d.attempts) for d in deliveries(db)] == [
        (DeliveryStatus.DELIVERED, 2),
        (DeliveryStatus.DELIVERED, 1),
        (DeliveryStatus.DELIVERED, 1),
    ]


def test_a_delivery_that_keeps_failing_waits_longer_each_time_then_is_given_up(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with receiver() as crm:
        endpoint(db, clock, crm.url)
        crm.answers["ann@example.com"] = [503, 503, 503]
        ann = download(db, clock, settings, "ann")
        stop_email(db, clock, ann)

        waits = []
        for _ in range(POLICY.max_attempts):
            started = clock.now()
            assert send(db, clock).attempted == 1
            first = deliveries(db)[0]
            if first.status is DeliveryStatus.FAILED:
                waits.append(first.next_attempt_at - started)
                clock.advance(first.next_attempt_at - started)
        # Given up: the lead's next event is no longer held back.
        assert send(db, clock).delivered == 1

    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    first, second = deliveries(db)
    assert (first.status, first.attempts, first.last_response_code, first.last_error) == (
        DeliveryStatus.GIVEN_UP,
        3,
        503,
        "HTTP 503",
    )
    assert second.status is DeliveryStatus.DELIVERED
    assert crm.seen("ann@example.com") == ["lead.captured"] * 3 + ["lead.opted_out"]


def test_an_endpoint_nobody_answers_gets_a_reason_in_the_log_and_a_retry(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint(db, clock, f"http://127.0.0.1:{port}/hooks")
    download(db, clock, settings, "dana")

    assert send(db, clock).failed == 1
    [delivery] = deliveries(db)
    assert delivery.status is DeliveryStatus.FAILED
    assert (delivery.last_response_code, delivery.last_error) == (None, "could not connect")
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=30)


def test_a_disabled_endpoint_gets_no_new_events_and_what_it_is_owed_waits(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with receiver() as crm:
        endpoint_id, _ = endpoint(db, clock, crm.url)
        ann = download(db, clock, settings, "ann")
        with db.factory.begin() as session:
            set_enabled(session, endpoint_id, False)
        stop_email(db, clock, ann)  # while it is off: not owed
        assert send(db, clock).attempted == 0
        with db.factory.begin() as session:
            set_enabled(session, endpoint_id, True)
        assert send(db, clock).delivered == 1

    assert crm.seen("ann@example.com") == ["lead.captured"]
    assert len(deliveries(db)) == 1


def test_the_beat_task_posts_what_is_due_every_few_seconds(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    from workers import tasks
    from workers.celery_app import app
    from workers.context import WorkerContext, use_context

    use_context(WorkerContext(clock=clock, sessions=db.factory))
    with receiver() as crm:
        endpoint(db, clock, crm.url)
        download(db, clock, settings, "ann")
        download(db, clock, settings, "ben")
        assert tasks.send_webhooks() == 2
        assert tasks.send_webhooks() == 0  # nothing left: nothing posted twice
    assert sorted(p["lead"]["first_name"] for p in crm.payloads) == ["Ann", "Ben"]
    entry = app.conf.beat_schedule["send-webhooks"]
    assert entry["task"] == tasks.send_webhooks.name
    assert entry["schedule"] == settings.webhook_interval_seconds == 5


def test_the_readme_s_verification_snippet_accepts_a_real_post_and_refuses_a_forged_one(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    readme = (REPO / "README.md").read_text()
    snippet = next(
        block
        for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if "def verify(" in block
    )
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # our own README, run to check it is right
    readme_verify = namespace["verify"]
    with receiver() as crm:
        _, secret = endpoint(db, clock, crm.url)
        download(db, clock, settings, "dana")
        send(db, clock)
    [post] = crm.received
    header = post.headers[SIGNATURE_HEADER]
    ages = 10**9  # the test's clock is not the wall clock the snippet reads
    assert readme_verify(secret, header, post.body, tolerance=ages)
    assert not readme_verify("whsec_wrong", header, post.body, tolerance=ages)
    assert not readme_verify(secret, header, post.body + b" ", tolerance=ages)
