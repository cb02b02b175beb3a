"""Thin tasks: take ids, call a nurture service, return."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from nurture.analytics.rollup import refresh_campaigns
from nurture.consent.policy import SendingPolicy
from nurture.health.heartbeat import DISPATCHER, record_now
from nurture.messages.deliver import expire_abandoned
from nurture.sequences.dispatch import dispatch_due, requeue_lost
from nurture.webhooks_out.sender import BATCH, RetryPolicy, send_due
from workers.celery_app import app
from workers.context import ContextTask, worker_context


def enqueue_delivery(message_ids: Sequence[int]) -> None:
    """Hand message ids to the workers in batches (the context's own queue when set)."""
    context = worker_context()
    if context.enqueue is not None:
        context.enqueue(message_ids)
        return
    size = context.settings.delivery_batch_size
    for start in range(0, len(message_ids), size):
        deliver.delay(list(message_ids[start : start + size]))


@app.task(name="nurture.dispatch", base=ContextTask, bind=True)
def dispatch(self: ContextTask) -> int:
    """Claim due enrollments, write their messages, enqueue delivery."""
    context = self.context
    settings = context.clinic_settings()  # the clinic's zone and hours, once per pass
    total = 0
    while True:  # drain a backlog now rather than one batch per beat tick
        report = dispatch_due(
            context.sessions,
            context.clock.now(),
            enqueue_delivery,
            batch_size=settings.dispatch_batch_size,
            clinic_zone=settings.clinic_zone,
            policy=SendingPolicy.from_settings(settings),
        )
        total += report.written + report.released
        if report.claimed < settings.dispatch_batch_size:
            record_now(context.sessions, DISPATCHER)  # readiness: the chain works
            return total


@app.task(name="nurture.deliver", base=ContextTask, bind=True)
def deliver(self: ContextTask, message_ids: list[int]) -> int:
    """Deliver a batch; retryable failures come back after a short countdown."""
    retries = self.context.delivery().deliver_batch(message_ids)
    for retry in retries:
        deliver.apply_async(([retry.message_id],), countdown=retry.countdown)
    return len(message_ids) - len(retries)


@app.task(name="nurture.sweep", base=ContextTask, bind=True)
def sweep(self: ContextTask) -> int:
    """Recover lost tasks and settle hand-offs whose worker died."""
    context = self.context
    settings, now = context.settings, context.clock.now()
    scale = settings.time_scale
    expired = expire_abandoned(
        context.sessions, now, timedelta(seconds=settings.sending_lease_seconds * scale)
    )
    lost = requeue_lost(
        context.sessions, now, timedelta(seconds=settings.requeue_after_seconds * scale)
    )
    enqueue_delivery(lost)
    return expired + len(lost)


@app.task(name="nurture.refresh_results", base=ContextTask, bind=True)
def refresh_results(self: ContextTask) -> int:
    """Recount the Results rollup of every active or paused campaign (and any never counted)."""
    return refresh_campaigns(self.context.sessions, self.context.clock.now())


@app.task(name="nurture.send_webhooks", base=ContextTask, bind=True)
def send_webhooks(self: ContextTask) -> int:
    """Post the outbound webhooks that are due; returns how many were attempted."""
    context = self.context
    policy = RetryPolicy.from_settings(context.settings)
    total = 0
    while True:  # drain a backlog now rather than one batch per beat tick
        report = send_due(
            context.sessions, context.clock, policy, app_secret=context.settings.secret_key
        )
        total += report.attempted
        if report.attempted < BATCH:
            return total
