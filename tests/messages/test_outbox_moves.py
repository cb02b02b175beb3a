"""Every status move goes through the outbox and is checked against the one state machine:
a move the machine does not allow is refused before anything is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages import outbox
from nurture.messages.models import Message, MessageStatus
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database


@pytest.mark.parametrize(
    ("source", "to"),
    [
        (MessageStatus.SENT, MessageStatus.QUEUED),  # a sent message is never sent again
        (MessageStatus.SKIPPED, MessageStatus.QUEUED),  # a skip is final
        (MessageStatus.UNKNOWN, MessageStatus.QUEUED),  # an unknown hand-off is not re-sent
        (MessageStatus.QUEUED, MessageStatus.SENT),  # only a claimed message is handed off
    ],
)
def test_a_move_the_state_machine_forbids_is_refused_and_writes_nothing(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    source: MessageStatus,
    to: MessageStatus,
) -> None:
    capture(db.factory, clock, settings)
    Harness(db, clock, settings).dispatch()
    with db.factory() as session:
        before = session.execute(select(Message.id, Message.status)).all()
    with db.factory.begin() as session, pytest.raises(ValueError, match="is not allowed"):
        outbox.move_matching(session, [Message.id > 0], [source], to, clock.now())
    with db.factory() as session:
        assert session.execute(select(Message.id, Message.status)).all() == before


def test_skipping_what_waits_leaves_handed_off_messages_alone(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    harness.dispatch()  # the welcome email is sent
    clock.advance(timedelta(hours=2))
    harness.dispatch(deliver=False)  # the first text is written, not handed off
    with db.factory.begin() as session:
        skipped = outbox.skip_waiting(session, [Message.id > 0], "test", clock.now())
    messages = harness.messages()
    assert messages["welcome-article"].status == MessageStatus.SENT
    hello = messages["sms-hello"]
    assert skipped == [hello.id]
    assert (hello.status, hello.reason) == (MessageStatus.SKIPPED, "test")
