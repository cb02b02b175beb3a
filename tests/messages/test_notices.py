"""Transactional notices: same outbox, same gate, but no marketing rules."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence, revoke, suppress
from nurture.leads.models import Lead
from nurture.messages.channels.base import Attachment, OutboundEmail
from nurture.messages.gate import PAUSED_FOR_DESK
from nurture.messages.models import Message, MessageStatus
from nurture.messages.transactional import EmailContent, Notice, cancel_pending, queue_notice
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

ICS = Attachment("screening.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\n")


def lead_id(db: Database) -> int:
    with db.factory() as session:
        return session.scalars(select(Lead.id)).one()


def notice(db: Database, clock: ManualClock, key: str = "confirm:1") -> int | None:
    with db.factory.begin() as session:
        return queue_notice(
            session,
            Notice(lead_id(db), "booking-confirmation", key, clock.now()),
            EmailContent("Your screening", "See you Tuesday.", "<p>See you</p>", (ICS,)),
            clock.now(),
        )


def test_confirmation_email_goes_out_once_with_its_calendar_file(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    first = notice(db, clock)
    assert first is not None
    assert notice(db, clock) is None  # the same key queued twice is one notice
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    sent = [m for m in harness.email.sent if isinstance(m, OutboundEmail) and m.attachments]
    assert len(sent) == 1
    assert sent[0].attachments == (ICS,)
    assert "List-Unsubscribe" not in sent[0].headers
    assert harness.messages()["booking-confirmation"].status == MessageStatus.SENT


def test_notice_email_reaches_someone_who_unsubscribed_from_marketing(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        revoke(session, lead_id(db), Channel.EMAIL, Evidence("unsubscribe-link"), clock.now())
    notice(db, clock)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    messages = harness.messages()
    assert messages["booking-confirmation"].status == MessageStatus.SENT
    assert messages["welcome-article"].reason == "no email consent"


def test_notice_never_goes_to_a_suppressed_address_or_after_stop(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    dana = lead_id(db)
    with db.factory.begin() as session:
        suppress(session, Channel.EMAIL, "dana@example.com", "hard bounce", clock.now())
        revoke(session, dana, Channel.SMS, Evidence("sms:STOP"), clock.now())
        queue_notice(
            session,
            Notice(dana, "booking-reminder", "remind:1", clock.now()),
            "Reminder: screening tomorrow at 3pm.",
            clock.now(),
        )
    notice(db, clock)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    messages = harness.messages()
    assert messages["booking-confirmation"].reason == "email address suppressed: hard bounce"
    assert messages["booking-reminder"].reason == "no sms consent"
    assert harness.email.sent == [] and harness.sms.sent == []


def test_reminder_for_a_cancelled_booking_is_skipped_with_the_reason(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        queue_notice(
            session,
            Notice(lead_id(db), "booking-reminder", "remind:7", clock.now() + timedelta(days=1)),
            "Reminder",
            clock.now(),
        )
        assert cancel_pending(session, ["remind:7"], "booking cancelled", clock.now()) == 1
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=2), step=timedelta(hours=6))
    assert harness.messages()["booking-reminder"].reason == "booking cancelled"
    assert all(getattr(m, "body", "") != "Reminder" for m in harness.sms.sent)


def test_paused_sequence_holds_its_messages_until_staff_resume_it(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    ids = harness.dispatch(deliver=False)
    with db.factory.begin() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        enrollment.status = EnrollmentStatus.PAUSED
    harness.delivery.deliver_batch(ids)
    held = harness.messages()["welcome-article"]
    assert (held.status, held.reason) == (MessageStatus.HELD, PAUSED_FOR_DESK)
    harness.run_for(timedelta(hours=5))
    assert harness.email.sent == [] and harness.sms.sent == []
    with db.factory.begin() as session:
        session.scalars(select(Enrollment)).one().status = EnrollmentStatus.ACTIVE
    harness.run_for(timedelta(hours=2))
    with db.factory() as session:
        statuses = {m.step_key: m.status for m in session.scalars(select(Message))}
    assert statuses["welcome-article"] == MessageStatus.SENT
