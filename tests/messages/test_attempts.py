"""Invariant 8: a transient provider error never ends a message by itself. Attempts count
hand-offs to the provider, never claims that the gate turned into a hold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.channels.base import RetryableError
from nurture.messages.models import MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database


def _enrollment_status(db: Database, status: EnrollmentStatus) -> None:
    with db.factory.begin() as session:
        session.execute(update(Enrollment).values(status=status))


def test_a_message_held_many_times_then_refused_once_with_429_is_retried_and_sent(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness = Harness(db, clock, settings)
    capture(db.factory, clock, settings, phone=None)
    [welcome] = harness.dispatch(deliver=False)
    _enrollment_status(db, EnrollmentStatus.PAUSED)  # staff paused the lead
    for _ in range(8):  # each pass claims it, and the gate holds it for another hour
        harness.delivery.deliver_batch([welcome])
        assert harness.messages()["welcome-article"].status == MessageStatus.HELD
        clock.advance(timedelta(hours=1))
        harness.dispatch(deliver=False)  # the dispatcher releases it: queued again
    _enrollment_status(db, EnrollmentStatus.ACTIVE)
    harness.email.failures.append(RetryableError("429", "rate limited", retry_after=10))
    [retry] = harness.delivery.deliver_batch([welcome])
    held = harness.messages()["welcome-article"]
    assert (held.status, held.attempts) == (MessageStatus.QUEUED, 1)
    assert retry.countdown == 10
    assert harness.delivery.deliver_batch([welcome]) == []
    sent = harness.messages()["welcome-article"]
    assert (sent.status, sent.attempts) == (MessageStatus.SENT, 2)
    assert len(harness.email.sent) == 1


def test_attempts_still_run_out_when_the_provider_keeps_refusing(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness = Harness(db, clock, settings)
    capture(db.factory, clock, settings, phone=None)
    [welcome] = harness.dispatch(deliver=False)
    limit = settings.max_delivery_attempts
    harness.email.failures.extend(RetryableError("503", "down") for _ in range(limit))
    for _ in range(limit):
        harness.delivery.deliver_batch([welcome])
    failed = harness.messages()["welcome-article"]
    assert failed.status == MessageStatus.FAILED
    assert failed.attempts == limit
    assert (failed.reason or "").startswith(f"gave up after {limit} attempts")
