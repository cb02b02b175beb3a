"""The embedded runner (`nurture run`, `nurture demo`: a worker thread on the memory broker)
counts the outbound webhooks as work: it is not idle while a post is under way, and a
rehearsal does not end while a delivery is still owed, a retry's wait included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.cli.runtime.rehearsal import next_due
from nurture.cli.runtime.threads import TaskTracker, embedded_worker, use_memory_broker
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.webhooks_out.endpoints import set_enabled
from nurture.webhooks_out.models import DeliveryStatus
from tests.support import Database
from tests.webhooks_out.outbox import deliveries, download, endpoint, send, stop_email
from tests.webhooks_out.receiver import receiver


# The embedded runner runs on SQLite only: this test takes that backend alone.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_embedded_runner_is_not_idle_until_its_webhook_posts_are_recorded(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    from workers import tasks
    from workers.celery_app import app
    from workers.context import WorkerContext, use_context

    use_memory_broker(app, polling_interval=0.005)
    use_context(WorkerContext(clock=clock, sessions=db.factory))
    with receiver() as crm:
        endpoint(db, clock, crm.url)
        download(db, clock, settings, "dana")
        with TaskTracker().connected() as tracker, embedded_worker(app):
            tasks.send_webhooks.delay()  # what beat's tick publishes
            assert tracker.wait_idle(30)
            # Read the moment the runner says it is idle: the post is done and recorded.
            [delivery] = deliveries(db)
            assert delivery.status is DeliveryStatus.DELIVERED
            assert tracker.failures == []
    assert crm.seen("dana@example.com") == ["lead.captured"]


def test_a_rehearsal_is_not_over_while_a_webhook_delivery_is_owed(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    # No campaign is synced: the lead has no sequence, so only the webhooks are work.
    with receiver() as crm:
        endpoint_id, _ = endpoint(db, clock, crm.url)
        lead_id = download(db, clock, settings, "dana")
        with db.factory() as session:
            assert next_due(session) == clock.now()  # the capture's event: due at once

        crm.answers["dana@example.com"] = [503]
        stop_email(db, clock, lead_id)  # a second event, in line behind the first
        assert send(db, clock).failed == 1
        with db.factory() as session:
            # The retry's wait (30 s), not the opt-out queued behind it, is what is next.
            retry_at = clock.now() + timedelta(seconds=30)
            assert next_due(session) == retry_at

        with db.factory.begin() as session:
            set_enabled(session, endpoint_id, False)
        with db.factory() as session:
            assert next_due(session) is None  # a switched-off endpoint's queue waits
