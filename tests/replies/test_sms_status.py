"""Twilio delivery reports: statuses only move forward; dead numbers are suppressed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent, suppression_reason
from nurture.deliverability.models import ProviderEvent
from nurture.deliverability.sms_status import StatusReport, apply_status
from nurture.leads.capture import CaptureResult
from nurture.messages.models import Message, MessageStatus
from nurture.replies.consent import CARRIER_STOP
from tests.harness import Harness
from tests.replies.conftest import PHONE, rows
from tests.support import Database


@pytest.fixture
def sent_text(db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult) -> Message:
    """The first campaign text, handed to the (recording) provider."""
    harness = Harness(db, clock, settings)
    harness.dispatch()
    clock.advance(timedelta(hours=2))
    harness.dispatch()
    message = harness.messages()["sms-hello"]
    assert message.status == MessageStatus.SENT and message.provider_id
    return message


def report(
    db: Database, clock: ManualClock, settings: Settings, sid: str, status: str, code: str = ""
) -> bool:
    with db.factory.begin() as session:
        return apply_status(session, settings, StatusReport(sid, status, code, PHONE), clock.now())


def status_of(db: Database, message_id: int) -> Message:
    with db.factory() as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


def suppressed(db: Database) -> str | None:
    with db.factory() as session:
        return suppression_reason(session, Channel.SMS, PHONE)


def test_delivered_report_marks_the_text_delivered(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    assert report(db, clock, settings, sent_text.provider_id or "", "delivered")
    delivered = status_of(db, sent_text.id)
    assert (delivered.status, delivered.delivered_at) == (MessageStatus.DELIVERED, clock.now())


def test_a_late_sent_or_queued_report_never_moves_a_delivered_text_back(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    sid = sent_text.provider_id or ""
    report(db, clock, settings, sid, "delivered")
    report(db, clock, settings, sid, "sent")
    report(db, clock, settings, sid, "queued")
    assert status_of(db, sent_text.id).status == MessageStatus.DELIVERED


def test_undelivered_report_fails_the_text_with_the_error_code(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    report(db, clock, settings, sent_text.provider_id or "", "undelivered", "30007")
    failed = status_of(db, sent_text.id)
    assert (failed.status, failed.reason) == (
        MessageStatus.FAILED,
        "twilio undelivered (error 30007)",
    )
    assert suppressed(db) is None  # 30007 is carrier filtering, not a dead number


@pytest.mark.parametrize("code", ["21211", "21614", "30005", "30006"])
def test_errors_meaning_the_number_cannot_take_texts_suppress_it(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message, code: str
) -> None:
    report(db, clock, settings, sent_text.provider_id or "", "failed", code)
    reason = suppressed(db)
    assert reason is not None and reason.startswith(f"twilio {code}")


def test_carrier_stop_error_suppresses_and_revokes_sms_consent(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    lead: CaptureResult,
    sent_text: Message,
) -> None:
    report(db, clock, settings, sent_text.provider_id or "", "failed", "21610")
    assert suppressed(db) == CARRIER_STOP
    with db.factory() as session:
        assert current_consent(session, lead.lead_id) == {Channel.EMAIL: True, Channel.SMS: False}


def test_an_unreachable_handset_is_suppressed_only_when_it_keeps_happening(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    report(db, clock, settings, sent_text.provider_id or "", "undelivered", "30003")
    assert suppressed(db) is None  # a phone switched off for a day is not a dead number
    with db.factory.begin() as session:
        for n in range(settings.soft_bounce_limit - 1):
            copy = session.get(Message, sent_text.id)
            assert copy is not None
            session.add(
                Message(
                    lead_id=copy.lead_id,
                    step_key=f"later-{n}",
                    channel="sms",
                    status=MessageStatus.SENT,
                    provider_id=f"SMlater{n}",
                    due_at=clock.now(),
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
    for n in range(settings.soft_bounce_limit - 1):
        report(db, clock, settings, f"SMlater{n}", "undelivered", "30003")
    reason = suppressed(db)
    assert reason is not None and reason.startswith("twilio 30003")


def test_a_repeated_report_changes_nothing(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    sid = sent_text.provider_id or ""
    assert report(db, clock, settings, sid, "delivered")
    assert not report(db, clock, settings, sid, "delivered")
    assert len(rows(db, ProviderEvent, ProviderEvent.provider == "twilio")) == 1


def test_a_report_for_a_text_we_never_sent_is_recorded_and_ignored(
    db: Database, clock: ManualClock, settings: Settings, sent_text: Message
) -> None:
    assert report(db, clock, settings, "SMnotours", "delivered")
    [event] = rows(db, ProviderEvent, ProviderEvent.event_id.startswith("SMnotours"))
    assert (event.message_id, event.ignored) == (None, "unknown message")
    assert status_of(db, sent_text.id).status == MessageStatus.SENT
