"""What staff do to one lead: opt-outs the gate honours, pause and resume, removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.leads import actions
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database


def dana(db: Database, clock: ManualClock, settings: Settings) -> int:
    return capture(db.factory, clock, settings).lead_id


def waiting_message(db: Database, clock: ManualClock, step: str, channel: str) -> None:
    with db.factory.begin() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        session.add(
            Message(
                kind=MessageKind.CAMPAIGN,
                enrollment_id=enrollment.id,
                lead_id=enrollment.lead_id,
                campaign_id=enrollment.campaign_id,
                step_key=step,
                channel=channel,
                status=MessageStatus.HELD,
                due_at=clock.now() + timedelta(hours=2),
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )


def statuses(db: Database) -> dict[str, tuple[str, str | None]]:
    with db.factory() as session:
        return {m.step_key: (m.status, m.reason) for m in session.scalars(select(Message))}


def test_staff_opt_out_revokes_one_channel_and_skips_its_waiting_messages(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead_id = dana(db, clock, settings)
    waiting_message(db, clock, "text-1", "sms")
    waiting_message(db, clock, "email-1", "email")
    with db.factory.begin() as session:
        assert actions.opt_out(session, lead_id, Channel.SMS, "mara@clinic.example", clock.now())
    with db.factory.begin() as session:
        assert current_consent(session, lead_id) == {Channel.EMAIL: True, Channel.SMS: False}
        # A second opt-out has nothing to revoke.
        assert not actions.opt_out(
            session, lead_id, Channel.SMS, "mara@clinic.example", clock.now()
        )
    assert statuses(db) == {
        "text-1": ("skipped", "sms consent revoked by staff"),
        "email-1": ("held", None),
    }


@pytest.mark.slow  # steps through the whole two-week sequence
def test_staff_opt_out_is_honoured_at_send_time_for_every_later_step(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness = Harness(db, clock, settings)
    lead_id = dana(db, clock, settings)
    handed_to_worker = harness.dispatch(deliver=False)  # the welcome email, already queued
    with db.factory.begin() as session:
        assert actions.opt_out(session, lead_id, Channel.EMAIL, "mara@clinic.example", clock.now())
    harness.delivery.deliver_batch(handed_to_worker)
    harness.run_for(timedelta(days=15))
    assert harness.email.sent == []
    # The other channel is untouched; the anatomy email never went, so its gist is texted.
    assert len(harness.sms.sent) == 4
    emails = {m.step_key: m.reason for m in harness.messages().values() if m.channel == "email"}
    assert emails.pop("welcome-article") == "email consent revoked by staff"
    # Written after the opt-out: the gate read the ledger when each one fell due.
    assert emails and set(emails.values()) == {"no email consent"}


def test_resume_keeps_a_future_step_time_and_makes_an_overdue_step_due_now(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead_id = dana(db, clock, settings)
    with db.factory.begin() as session:
        assert actions.pause(session, lead_id) == 1
        due = session.scalars(select(Enrollment.next_due_at)).one()
    assert due is not None
    with db.factory.begin() as session:
        assert actions.resume(session, lead_id, due - timedelta(minutes=5)) == 1
        assert session.scalars(select(Enrollment.next_due_at)).one() == due
        assert actions.pause(session, lead_id) == 1
    later = due + timedelta(days=2)
    with db.factory.begin() as session:
        assert actions.resume(session, lead_id, later) == 1
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.status, enrollment.next_due_at) == (EnrollmentStatus.ACTIVE, later)
        assert actions.resume(session, lead_id, later) == 0


def test_removal_ends_the_enrollment_and_skips_its_messages_once(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead_id = dana(db, clock, settings)
    waiting_message(db, clock, "email-1", "email")
    with db.factory.begin() as session:
        assert actions.remove_from_campaign(session, lead_id, "hamstring-sciatica", clock.now())
    with db.factory.begin() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.status == EnrollmentStatus.EXITED
        assert (enrollment.next_step_key, enrollment.next_due_at) == (None, None)
        assert enrollment.end_reason == "removed by staff"
        assert not actions.remove_from_campaign(session, lead_id, "hamstring-sciatica", clock.now())
        with pytest.raises(actions.NotEnrolled):
            actions.remove_from_campaign(session, lead_id, "another-campaign", clock.now())
    assert statuses(db) == {"email-1": ("skipped", "left the campaign: removed by staff")}
