"""Delivery through the gate: at most once, never to the wrong person, always a recorded outcome."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nurture.booking.models import Booking
from nurture.booking.service import book_screening
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence, revoke, suppress, suppression_reason
from nurture.leads.models import Lead
from nurture.messages.channels.base import (
    OutboundEmail,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
)
from nurture.messages.deliver import expire_abandoned
from nurture.messages.models import SETTLED_STATUSES, Message, MessageStatus
from nurture.sequences.dispatch import requeue_lost
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.fakes import RecordingChannel
from tests.harness import Harness
from tests.support import Database


@pytest.fixture
def harness(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> Harness:
    return Harness(db, clock, settings)


def lead_id(db: Database) -> int:
    with db.factory() as session:
        return session.scalars(select(Lead.id)).one()


@pytest.mark.slow  # steps through the whole two-week sequence
def test_whole_sequence_reaches_the_lead_once_per_step(harness: Harness, db: Database) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.run_for(timedelta(days=15))
    messages = harness.messages()
    # Every step, the text for leads who never open the anatomy email among them; the
    # desk's call-back, for leads who tapped the screening text, is skipped with why.
    assert len(messages) == 12
    call_back = messages.pop("screening-call-back")
    assert (call_back.status, call_back.reason) == (
        MessageStatus.SKIPPED,
        "branch not taken: sms-screening-invite not clicked",
    )
    assert {m.status for m in messages.values()} == {MessageStatus.SENT}
    refs = [m.message_ref for m in harness.email.sent + harness.sms.sent]
    assert sorted(refs) == sorted(m.ref for m in messages.values())
    assert len(harness.email.sent) == 7 and len(harness.sms.sent) == 4


def test_delivering_the_same_batch_twice_hands_each_message_off_once(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    ids = harness.dispatch(deliver=False)
    harness.delivery.deliver_batch(ids)
    harness.delivery.deliver_batch(ids)
    assert len(harness.email.sent) == 1


def test_database_refuses_a_second_row_for_the_same_enrollment_step(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.dispatch(deliver=False)
    with pytest.raises(IntegrityError), db.factory.begin() as session:
        first = session.scalars(select(Message)).one()
        session.add(
            Message(
                enrollment_id=first.enrollment_id,
                lead_id=first.lead_id,
                campaign_id=first.campaign_id,
                step_key=first.step_key,
                channel=first.channel,
                due_at=first.due_at,
                created_at=first.created_at,
                updated_at=first.updated_at,
            )
        )


def test_email_consent_revoked_after_scheduling_stops_the_queued_email(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    ids = harness.dispatch(deliver=False)
    with db.factory.begin() as session:
        revoke(session, lead_id(db), Channel.EMAIL, Evidence("test"), harness.clock.now())
    harness.delivery.deliver_batch(ids)
    message = harness.messages()["welcome-article"]
    assert harness.email.sent == []
    assert (message.status, message.reason) == (MessageStatus.SKIPPED, "no email consent")


def test_suppressed_address_gets_nothing_and_the_reason_is_recorded(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    with db.factory.begin() as session:
        suppress(session, Channel.EMAIL, "DANA@example.com", "hard bounce", harness.clock.now())
    harness.dispatch()
    message = harness.messages()["welcome-article"]
    assert harness.email.sent == []
    assert message.status == MessageStatus.SKIPPED
    assert message.reason == "email address suppressed: hard bounce"


def test_stop_before_an_sms_goes_out_cancels_it(harness: Harness, db: Database) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.dispatch()
    harness.clock.advance(timedelta(hours=2))
    ids = harness.dispatch(deliver=False)
    with db.factory.begin() as session:
        revoke(session, lead_id(db), Channel.SMS, Evidence("sms:STOP"), harness.clock.now())
    harness.delivery.deliver_batch(ids)
    assert harness.sms.sent == []
    assert harness.messages()["sms-hello"].status == MessageStatus.SKIPPED


@pytest.mark.slow  # steps through the whole two-week sequence
def test_booked_lead_receives_nothing_educational_afterwards(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.run_for(timedelta(days=3))
    sent_before = len(harness.email.sent) + len(harness.sms.sent)
    with db.factory.begin() as session:
        book_screening(session, lead_id(db), source="test", now=harness.clock.now())
    harness.run_for(timedelta(days=13))
    assert len(harness.email.sent) + len(harness.sms.sent) == sent_before
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
    assert enrollment.status == EnrollmentStatus.EXITED
    assert enrollment.next_due_at is None


def test_message_claimed_before_booking_is_skipped_at_send_time(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    ids = harness.dispatch(deliver=False)
    # The booking lands between the dispatcher's commit and the worker's gate.
    with db.factory.begin() as session:
        session.add(Booking(lead_id=lead_id(db), source="test", created_at=harness.clock.now()))
    harness.delivery.deliver_batch(ids)
    assert harness.email.sent == []
    assert harness.messages()["welcome-article"].reason == (
        "exit goal reached: a screening is booked"
    )


def test_sms_for_a_lead_in_tokyo_is_scheduled_for_their_morning(
    harness: Harness, db: Database, settings: Settings
) -> None:
    # 15:00 UTC is midnight in Tokyo: the SMS due two hours later waits for 10:00 local.
    capture(db.factory, harness.clock, settings, timezone="Asia/Tokyo", phone="+819012345678")
    harness.run_for(timedelta(hours=12))
    sent = harness.messages()["sms-hello"]
    local = sent.sent_at.astimezone(ZoneInfo("Asia/Tokyo")) if sent.sent_at else None
    assert local is not None and (local.hour, local.minute) == (10, 0)


def test_sms_delayed_into_the_night_by_an_outage_is_held_until_morning(
    harness: Harness, db: Database, settings: Settings
) -> None:
    capture(db.factory, harness.clock, settings)  # Chicago; sms-hello due 11:00 local
    harness.dispatch()
    harness.clock.advance(timedelta(hours=13))  # the dispatcher was down until 22:00 local
    harness.dispatch()
    held = harness.messages()["sms-hello"]
    assert held.status == MessageStatus.HELD
    assert held.reason == "outside sending hours (10:00-18:00, 08:00-21:00, America/Chicago)"
    assert harness.sms.sent == []
    harness.run_for(timedelta(hours=14), step=timedelta(minutes=15))
    sent = harness.messages()["sms-hello"]
    assert sent.status == MessageStatus.SENT and sent.sent_at is not None
    local = sent.sent_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.day, local.hour, local.minute) == (3, 10, 0)


def test_rate_limited_email_is_retried_and_then_sent_once(harness: Harness, db: Database) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.email.failures.append(RetryableError("429", "too many requests", retry_after=7))
    ids = harness.dispatch(deliver=False)
    retries = harness.delivery.deliver_batch(ids)
    assert [r.countdown for r in retries] == [7]
    assert harness.messages()["welcome-article"].status == MessageStatus.QUEUED
    harness.delivery.deliver_batch([r.message_id for r in retries])
    message = harness.messages()["welcome-article"]
    assert (message.status, message.attempts, len(harness.email.sent)) == (MessageStatus.SENT, 2, 1)


def test_provider_outage_gives_up_after_the_attempt_cap_with_a_reason(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    cap = harness.settings.max_delivery_attempts
    harness.email.failures.extend(RetryableError("503", "unavailable") for _ in range(cap))
    pending = harness.dispatch(deliver=False)
    countdowns = []
    while pending:
        retries = harness.delivery.deliver_batch(pending)
        countdowns += [r.countdown for r in retries]
        pending = [r.message_id for r in retries]
    message = harness.messages()["welcome-article"]
    assert message.status == MessageStatus.FAILED
    assert message.reason == f"gave up after {cap} attempts: 503: unavailable"
    assert countdowns == sorted(countdowns) and max(countdowns) <= 300


@pytest.mark.slow  # steps through the whole two-week sequence
def test_unsubscribed_number_reported_by_twilio_is_suppressed(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.run_for(timedelta(hours=1))
    harness.sms.failures.append(PermanentError("21610", "unsubscribed recipient", suppress=True))
    harness.run_for(timedelta(hours=2))
    assert harness.messages()["sms-hello"].status == MessageStatus.FAILED
    with db.factory() as session:
        assert suppression_reason(session, Channel.SMS, "+12175550199") == "provider error 21610"
    harness.run_for(timedelta(days=14))
    assert harness.sms.sent == []
    assert (
        harness.messages()["sms-tip-nudge"].reason == "sms address suppressed: provider error 21610"
    )


def test_unexpected_error_during_hand_off_is_unknown_and_never_resent(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)

    class Exploding(RecordingChannel):
        def send(self, message: OutboundEmail) -> object:  # type: ignore[override]
            raise ConnectionResetError("peer reset after the request was written")

    harness.delivery.email = Exploding()
    ids = harness.dispatch(deliver=False)
    harness.delivery.deliver_batch(ids)
    harness.delivery.email = harness.email
    harness.delivery.deliver_batch(ids)
    harness.clock.advance(timedelta(hours=1))
    assert requeue_lost(db.factory, harness.clock.now(), timedelta(minutes=2)) == []
    message = harness.messages()["welcome-article"]
    assert message.status == MessageStatus.UNKNOWN
    assert message.reason == "hand-off error: ConnectionResetError"
    assert harness.email.sent == []


def test_worker_killed_mid_hand_off_leaves_unknown_after_the_lease(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    ids = harness.dispatch(deliver=False)
    with db.factory.begin() as session:  # the worker claimed it, then died
        assert harness.delivery.claim(session, ids[0])
    harness.clock.advance(timedelta(minutes=1))
    assert expire_abandoned(db.factory, harness.clock.now(), timedelta(minutes=5)) == 0
    harness.clock.advance(timedelta(minutes=5))
    assert expire_abandoned(db.factory, harness.clock.now(), timedelta(minutes=5)) == 1
    harness.delivery.deliver_batch(ids)
    message = harness.messages()["welcome-article"]
    assert message.status == MessageStatus.UNKNOWN
    assert "not re-sent" in (message.reason or "")
    assert harness.email.sent == []


def test_lost_delivery_task_is_found_by_the_sweeper_and_sent(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.dispatch(deliver=False)  # the broker lost the task
    assert requeue_lost(db.factory, harness.clock.now(), timedelta(minutes=2)) == []
    harness.clock.advance(timedelta(minutes=3))
    found = requeue_lost(db.factory, harness.clock.now(), timedelta(minutes=2))
    harness.delivery.deliver_batch(found)
    assert harness.messages()["welcome-article"].status == MessageStatus.SENT


@pytest.mark.slow  # steps through the whole two-week sequence
def test_every_due_step_ends_settled_with_a_reason_when_not_sent(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings, phone=None)
    capture(db.factory, harness.clock, harness.settings, email="kim@example.com", sms=False)
    harness.run_for(timedelta(days=15))
    with db.factory() as session:
        messages = session.scalars(select(Message)).all()
    assert len(messages) == 24
    for message in messages:
        assert message.status in SETTLED_STATUSES
        if message.status != MessageStatus.SENT:
            assert message.reason, message.step_key
    skipped = [m for m in messages if m.status == MessageStatus.SKIPPED]
    # Four texts each, and the call-back (the texts' phone) of both.
    assert len(skipped) == 10 and {m.channel for m in skipped} == {"sms"}


def test_provider_timeout_after_the_request_is_unknown_and_not_retried(
    harness: Harness, db: Database
) -> None:
    capture(db.factory, harness.clock, harness.settings)
    harness.email.failures.append(OutcomeUnknownError("read-timeout", "no answer in time"))
    ids = harness.dispatch(deliver=False)
    assert harness.delivery.deliver_batch(ids) == []
    harness.delivery.deliver_batch(ids)
    message = harness.messages()["welcome-article"]
    assert message.status == MessageStatus.UNKNOWN
    assert message.reason == "outcome unknown: read-timeout: no answer in time"
    assert harness.email.sent == []
