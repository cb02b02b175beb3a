"""Questions reach a person: the sequence waits until staff resume or end it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.booking.service import book_slot
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.capture import CaptureResult
from nurture.replies.inbox import UnknownInboxItem, resolve_inbox_item
from nurture.replies.intent import Intent
from nurture.replies.models import InboundMessage, InboxItem, InboxStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.harness import Harness
from tests.replies.conftest import Texter, rows
from tests.replies.test_booking_by_text import TUE_0900
from tests.support import Database


def enrollment(db: Database) -> Enrollment:
    [only] = rows(db, Enrollment)
    return only


def resolve(db: Database, clock: ManualClock, item_id: int, *, resume: bool) -> None:
    with db.factory.begin() as session:
        resolve_inbox_item(session, item_id, resume=resume, staff="Maria", now=clock.now())


def test_a_question_is_acknowledged_lands_in_the_inbox_and_pauses_the_sequence(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("what is this?")
    assert outcome.intent is Intent.OTHER
    assert outcome.reply == "Thanks, a member of our team will reply soon."
    [item] = rows(db, InboxItem)
    assert (item.lead_id, item.status, item.reason) == (lead.lead_id, InboxStatus.OPEN, "question")
    [message] = rows(db, InboundMessage)
    assert (message.inbox_item_id, message.body, message.intent) == (
        item.id,
        "what is this?",
        "other",
    )
    assert enrollment(db).status == EnrollmentStatus.PAUSED


def test_a_paused_sequence_sends_nothing_until_staff_resume_it(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    harness = Harness(db, clock, settings)
    harness.dispatch()  # the welcome email
    text("Is this covered by my insurance?")
    harness.run_for(timedelta(days=3))
    assert list(harness.messages()) == ["welcome-article"]  # nothing after the question

    [item] = rows(db, InboxItem)
    due_before = enrollment(db).next_due_at
    resolve(db, clock, item.id, resume=True)
    resumed = enrollment(db)
    assert resumed.status == EnrollmentStatus.ACTIVE
    assert due_before is not None and due_before < clock.now()
    assert resumed.next_due_at == clock.now()  # overdue steps go now, not in the past
    harness.dispatch()
    assert list(harness.messages()) == ["welcome-article", "sms-hello"]


def test_ending_the_sequence_exits_the_enrollment(
    db: Database, clock: ManualClock, lead: CaptureResult, text: Texter
) -> None:
    text("I already see a physio, thanks")
    [item] = rows(db, InboxItem)
    resolve(db, clock, item.id, resume=False)
    ended = enrollment(db)
    assert ended.status == EnrollmentStatus.EXITED
    assert ended.end_reason == "ended by Maria after a reply"
    [resolved] = rows(db, InboxItem)
    assert (resolved.status, resolved.resolved_by, resolved.resolution) == (
        InboxStatus.RESOLVED,
        "Maria",
        "ended",
    )


def test_a_follow_up_question_joins_the_open_item_without_a_second_acknowledgement(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("what is this?")
    follow_up = text("hello??")
    assert follow_up.reply is None
    [item] = rows(db, InboxItem)
    assert [m.inbox_item_id for m in rows(db, InboundMessage)] == [item.id, item.id]


def test_a_lead_who_booked_meanwhile_is_not_resumed(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    text("what is this?")
    with db.factory.begin() as session:
        book_slot(session, settings, lead.lead_id, TUE_0900, source="web", now=clock.now())
    [item] = rows(db, InboxItem)
    resolve(db, clock, item.id, resume=True)
    assert enrollment(db).status == EnrollmentStatus.EXITED


def test_resolving_twice_changes_nothing_and_an_unknown_item_is_an_error(
    db: Database, clock: ManualClock, lead: CaptureResult, text: Texter
) -> None:
    text("what is this?")
    [item] = rows(db, InboxItem)
    resolve(db, clock, item.id, resume=False)
    clock.advance(timedelta(hours=1))
    resolve(db, clock, item.id, resume=True)
    assert enrollment(db).status == EnrollmentStatus.EXITED
    with pytest.raises(UnknownInboxItem):
        resolve(db, clock, item.id + 1000, resume=True)


def test_an_unknown_number_gets_a_generic_line_and_goes_to_the_inbox(
    db: Database, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("Hi, is this the clinic?", sender="+13125550100")
    assert outcome.reply is not None
    assert outcome.reply.startswith("Thanks for your message.")
    assert "(217) 555-0142" in outcome.reply
    assert "screening" not in outcome.reply.lower()
    [item] = rows(db, InboxItem)
    assert (item.lead_id, item.reason) == (None, "unknown sender")
    [message] = rows(db, InboundMessage)
    assert (message.sender, message.lead_id) == ("+13125550100", None)
    assert enrollment(db).status == EnrollmentStatus.ACTIVE  # Dana's sequence is untouched
    assert text("hello?", sender="+13125550100").reply is None


def test_an_unknown_number_saying_stop_is_confirmed_once(lead: CaptureResult, text: Texter) -> None:
    assert text("STOP", sender="+13125550100").reply is not None
    assert text("stop", sender="+13125550100").reply is None
