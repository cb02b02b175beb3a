"""A sender's rate counts segments, as carriers do: a two-segment text takes two of its
sender's moments, so a long code limited to one segment a second sends it and waits."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.deliver import Delivery
from nurture.messages.handoff import Prepared
from nurture.messages.models import MessageStatus
from nurture.messages.pacing import Slots, grant
from nurture.messages.senders import Sender
from tests.fakes import RecordingChannel
from tests.support import Database

NOW = 1_800_000_000.0
LONG_CODE = Sender("twilio:+13035550111", 1.0)
ONE_SEGMENT = "Riverside PT: your screening is confirmed. Reply STOP to opt out."
TWO_SEGMENTS = "x" * 200  # over 160 GSM-7 characters: two segments of 153


class FixedClockPacer:
    """The shared schedule (nurture.messages.pacing.grant) on a clock that stands still."""

    def __init__(self) -> None:
        self.free = NOW
        self.asked: list[int] = []

    def slots(self, sender: str, rate: float, wanted: int, max_wait: float) -> Slots:
        self.asked.append(wanted)
        granted = grant(NOW, self.free, rate, wanted, max_wait)
        self.free = granted.next_free
        return granted


def _text(message_id: int, body: str) -> Prepared:
    return Prepared(message_id, OutboundSms(f"ref{message_id}", "+13035550123", body), 1, LONG_CODE)


def _delivery(db: Database, settings: Settings, pacer: FixedClockPacer) -> Delivery:
    clock = ManualClock(datetime(2026, 11, 2, 15, tzinfo=UTC))
    return Delivery(
        db.factory, clock, settings, RecordingChannel(), RecordingChannel(), pacer=pacer
    )


def test_a_two_segment_text_takes_two_of_its_senders_moments(
    db: Database, settings: Settings
) -> None:
    pacer = FixedClockPacer()
    delivery = _delivery(db, settings, pacer)
    jobs = [_text(1, TWO_SEGMENTS), _text(2, ONE_SEGMENT), _text(3, ONE_SEGMENT)]
    paced, waiting = delivery._pace(jobs, datetime(2026, 11, 2, 15, tzinfo=UTC))
    assert pacer.asked[0] == 4  # segments, not messages
    # A 3-second window at one a second: moments at +0.5, +1.5 and +2.5 s.
    assert delivery.pacing_window == 3.0
    moments = {job.message_id: job.moment for job in paced}
    assert moments == {1: NOW + 0.5, 2: NOW + 2.5}  # the long text's second segment between
    assert [(move.message_id, move.to) for move in waiting] == [(3, MessageStatus.HELD)]


def test_a_text_longer_than_the_window_still_goes_and_holds_the_sender_for_its_length(
    db: Database, settings: Settings
) -> None:
    pacer = FixedClockPacer()
    delivery = _delivery(db, settings, pacer)
    window = delivery.pacing_window
    long_text = "x" * (153 * int(window + 3))  # more segments than moments in the window
    paced, waiting = delivery._pace([_text(1, long_text), _text(2, ONE_SEGMENT)], datetime.now(UTC))
    assert [job.message_id for job in paced] == [1]
    assert [move.message_id for move in waiting] == [2]
    segments = int(window + 3)
    # The sender's next free moment is after every segment of the long text.
    assert pacer.free >= paced[0].moment + segments - 0.5


def test_an_email_takes_one_moment(db: Database, settings: Settings) -> None:
    pacer = FixedClockPacer()
    delivery = _delivery(db, settings, pacer)
    email = OutboundEmail(
        "ref1", "dana@example.com", "care@x.example", "Clinic", "Hi", "t", "<p>t</p>"
    )
    delivery._pace([Prepared(1, email, 1, Sender("sendgrid:abc", 5.0))], datetime.now(UTC))
    assert pacer.asked == [1]
