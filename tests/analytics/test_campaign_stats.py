"""Campaign statistics agree with the rows they count, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from nurture.analytics.stats import UnknownCampaign, campaign_stats
from nurture.booking.service import EXIT_REASON, book_screening
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.messages.deliver import Delivery
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment
from tests.factories import capture
from tests.fakes import RecordingChannel
from tests.support import Database


def next_due(db: Database) -> datetime | None:
    """The earliest moment the dispatcher has work: a due enrollment or a held message."""
    with db.factory() as session:
        times = [
            session.scalar(
                select(func.min(Enrollment.next_due_at)).where(Enrollment.status == "active")
            ),
            session.scalar(select(func.min(Message.due_at)).where(Message.status == "held")),
        ]
    return min((t for t in times if t is not None), default=None)


def run_campaign(
    db: Database, clock: ManualClock, settings: Settings, until: timedelta, *, book: int | None
) -> None:
    """Dispatch and deliver at each due moment until `until` from now; `book` books on day 3."""
    delivery = Delivery(db.factory, clock, settings, RecordingChannel(), RecordingChannel())
    policy = SendingPolicy.from_settings(settings)
    end = clock.now() + until
    booking_at = clock.now() + timedelta(days=3) if book is not None else None
    while True:
        ids: list[int] = []
        dispatch_due(
            db.factory,
            clock.now(),
            ids.extend,
            batch_size=100,
            clinic_zone=settings.clinic_zone,
            policy=policy,
        )
        delivery.deliver_batch(ids)
        following = next_due(db)
        if booking_at is not None and (following is None or booking_at <= following):
            clock.set(booking_at)
            with db.factory.begin() as session:
                book_screening(session, book or 0, source="test", now=clock.now())
            booking_at = None
            continue
        if following is None or following > end:
            return
        clock.set(max(following, clock.now()))


@pytest.fixture
def three_leads(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> int:
    """Jordan (email + SMS), Sam (email only, no phone) and Ana, who books on day 3."""
    capture(db.factory, clock, settings, email="jordan@example.com", first_name="Jordan")
    capture(db.factory, clock, settings, email="sam@example.com", first_name="Sam", phone=None)
    ana = capture(db.factory, clock, settings, email="ana@example.com", first_name="Ana")
    run_campaign(db, clock, settings, timedelta(days=15), book=ana.lead_id)
    return campaign


def test_stats_count_every_message_by_step_and_status(
    db: Database, three_leads: int, settings: Settings
) -> None:
    with db.factory() as session:
        rows = Counter((m.step_key, m.status) for m in session.scalars(select(Message)).all())
        (stats,) = campaign_stats(session)
    assert stats.slug == "hamstring-sciatica"
    counted = Counter(
        {(step.key, status): n for step in stats.steps for status, n in step.by_status.items()}
    )
    assert counted == rows
    # Jordan and Sam got the welcome email; so did Ana, before booking.
    welcome = stats.steps[0]
    assert welcome.key == "welcome-article" and welcome.count("sent") == 3


def test_stats_split_enrollments_by_outcome(db: Database, three_leads: int) -> None:
    with db.factory() as session:
        statuses = Counter(session.scalars(select(Enrollment.status)).all())
        (stats,) = campaign_stats(session, "hamstring-sciatica")
    assert (stats.enrolled, stats.active, stats.completed, stats.exited) == (
        3,
        statuses["active"],
        statuses["completed"],
        statuses["exited"],
    )
    assert (stats.completed, stats.exited, stats.booked) == (2, 1, 1)
    assert stats.exit_reasons == {EXIT_REASON: 1}


def test_skipped_messages_are_grouped_by_reason(db: Database, three_leads: int) -> None:
    with db.factory() as session:
        (stats,) = campaign_stats(session)
    by_key = {step.key: step for step in stats.steps}
    for key in ("sms-hello", "sms-tip-nudge", "sms-screening-invite"):
        assert by_key[key].skip_reasons.get("no sms address on file") == 1, key  # Sam
    # Ana booked on day 3: steps after it were never written, so nothing is counted.
    assert by_key["screening-invitation"].total == 2
    assert by_key["screening-invitation"].count("sent") == 2


def test_steps_nobody_reached_yet_show_zero(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    run_campaign(db, clock, settings, timedelta(hours=1), book=None)
    with db.factory() as session:
        (stats,) = campaign_stats(session)
    assert [s.key for s in stats.steps][:2] == ["welcome-article", "sms-hello"]
    assert len(stats.steps) == 12
    assert stats.steps[0].count("sent") == 1
    assert all(step.total == 0 for step in stats.steps[1:])
    assert (stats.enrolled, stats.active) == (1, 1)


def test_stats_for_an_unknown_campaign_say_so(db: Database, campaign: int) -> None:
    with db.factory() as session, pytest.raises(UnknownCampaign):
        campaign_stats(session, "no-such-campaign")
