from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.support import Database


def run_dispatch(db: Database, clock: ManualClock, settings: Settings, sink: list[int]) -> None:
    dispatch_due(
        db.factory,
        clock.now(),
        sink.extend,
        batch_size=100,
        clinic_zone=settings.clinic_zone,
        policy=SendingPolicy.from_settings(settings),
    )


def test_first_step_is_written_once_and_enqueued_after_commit(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    enqueued: list[int] = []
    run_dispatch(db, clock, settings, enqueued)
    run_dispatch(db, clock, settings, enqueued)
    with db.factory() as session:
        rows = session.scalars(select(Message)).all()
        assert [m.step_key for m in rows] == ["welcome-article"]
        assert enqueued == [rows[0].id]
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.next_step_key == "sms-hello"
        assert enrollment.next_due_at == clock.now() + timedelta(hours=2)


def test_whole_sequence_writes_one_row_per_step_then_completes(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    enqueued: list[int] = []
    for _ in range(16 * 24):
        run_dispatch(db, clock, settings, enqueued)
        clock.advance(timedelta(hours=1))
    with db.factory() as session:
        assert session.scalar(select(func.count(Message.id))) == 12
        assert len(set(enqueued)) == 12
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.COMPLETED
