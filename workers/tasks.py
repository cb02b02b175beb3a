"""Thin tasks: take ids, call a nurture service, return."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache

from nurture.analytics.rollup import refresh_campaigns
from nurture.clinic.profile import current_settings as clinic_settings
from nurture.clinic.profile import stored_overrides
from nurture.clock import Clock, anchored_clock
from nurture.config import Settings, get_settings
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.health.heartbeat import DISPATCHER, record_now
from nurture.messages.channels.base import EmailChannel, SmsChannel
from nurture.messages.channels.factory import email_channel, sms_channel
from nurture.messages.deliver import Delivery, expire_abandoned
from nurture.messages.pacing import Pacer, pacer_for
from nurture.sequences.dispatch import dispatch_due, requeue_lost
from nurture.telemetry.counters import counter_store
from workers.celery_app import app

# Set by an in-process runner (the demo's rehearsal) whose clock the tasks must share.
_clock_override: Clock | None = None


def use_clock(override: Clock | None) -> None:
    """Make the tasks in this process use `override` (None: the configured clock again)."""
    global _clock_override
    _clock_override = override
    clock.cache_clear()
    _delivery_with.cache_clear()  # it holds the previous clock, settings and channels
    _channels.cache_clear()


@lru_cache(maxsize=1)
def clock() -> Clock:
    if _clock_override is not None:
        return _clock_override
    return anchored_clock(get_sessionmaker(), get_settings().time_scale)


def current_settings() -> Settings:
    """The environment's settings with the clinic settings staff saved, read now."""
    return clinic_settings(get_sessionmaker(), get_settings())


@lru_cache(maxsize=1)
def _channels() -> tuple[EmailChannel, SmsChannel]:
    settings = get_settings()
    return email_channel(settings), sms_channel(settings)


@lru_cache(maxsize=1)
def _pacer() -> Pacer:
    return pacer_for(get_settings().celery_broker_url)


@lru_cache(maxsize=2)
def _delivery_with(overrides: tuple[tuple[str, str], ...]) -> Delivery:
    # Kept while the clinic settings stay the same, so its campaign cache lives on.
    settings = get_settings()
    return Delivery(
        get_sessionmaker(),
        clock(),
        settings.model_copy(update=dict(overrides)),
        *_channels(),
        counters=counter_store(settings.celery_broker_url),
        pacer=_pacer(),
    )


def delivery() -> Delivery:
    """Delivery with the clinic settings as saved now (one key lookup per batch)."""
    with get_sessionmaker()() as session:
        overrides = stored_overrides(session)
    return _delivery_with(tuple(sorted(overrides.items())))


def enqueue_delivery(message_ids: Sequence[int]) -> None:
    """Hand message ids to the workers in batches."""
    size = get_settings().delivery_batch_size
    for start in range(0, len(message_ids), size):
        deliver.delay(list(message_ids[start : start + size]))


@app.task(name="nurture.dispatch")
def dispatch() -> int:
    """Claim due enrollments, write their messages, enqueue delivery."""
    settings = current_settings()  # the clinic's zone and quiet hours, once per pass
    total = 0
    while True:  # drain a backlog now rather than one batch per beat tick
        report = dispatch_due(
            get_sessionmaker(),
            clock().now(),
            enqueue_delivery,
            batch_size=settings.dispatch_batch_size,
            clinic_zone=settings.clinic_zone,
            policy=SendingPolicy.from_settings(settings),
        )
        total += report.written + report.released
        if report.claimed < settings.dispatch_batch_size:
            record_now(get_sessionmaker(), DISPATCHER)  # readiness: the chain works
            return total


@app.task(name="nurture.deliver")
def deliver(message_ids: list[int]) -> int:
    """Deliver a batch; retryable failures come back after a short countdown."""
    retries = delivery().deliver_batch(message_ids)
    for retry in retries:
        deliver.apply_async(([retry.message_id],), countdown=retry.countdown)
    return len(message_ids) - len(retries)


@app.task(name="nurture.sweep")
def sweep() -> int:
    """Recover lost tasks and settle hand-offs whose worker died."""
    settings = get_settings()
    now, scale = clock().now(), settings.time_scale
    expired = expire_abandoned(
        get_sessionmaker(), now, timedelta(seconds=settings.sending_lease_seconds * scale)
    )
    lost = requeue_lost(
        get_sessionmaker(), now, timedelta(seconds=settings.requeue_after_seconds * scale)
    )
    enqueue_delivery(lost)
    return expired + len(lost)


@app.task(name="nurture.refresh_results")
def refresh_results() -> int:
    """Recount the Results rollup of every active or paused campaign (and any never counted)."""
    return refresh_campaigns(get_sessionmaker(), clock().now())
