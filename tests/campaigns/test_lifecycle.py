"""Activating, pausing and archiving a campaign: what its leads receive, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.campaigns.lifecycle import (
    ARCHIVED_REASON,
    StatusChangeRefused,
    change_status,
    enrollments_archive_would_end,
)
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.staff.models import AuditEntry
from nurture.staff.service import Actor
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

STAFF = Actor("mara@riverside-pt.example", None, "127.0.0.1")
SLUG = "hamstring-sciatica"


@pytest.fixture
def harness(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> Harness:
    return Harness(db, clock, settings)


def set_status(db: Database, clock: ManualClock, target: CampaignStatus) -> None:
    with db.factory.begin() as session:
        change_status(session, SLUG, target, STAFF, clock.now())


def enrollment(db: Database) -> Enrollment:
    with db.factory() as session:
        return session.scalars(select(Enrollment)).one()


def test_pausing_a_campaign_holds_its_due_messages_and_resuming_sends_them(
    harness: Harness, db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings)
    # The welcome email is written and queued, but no worker has taken it yet.
    queued = harness.dispatch(deliver=False)
    welcome_due = harness.messages()["welcome-article"].due_at
    set_status(db, clock, CampaignStatus.PAUSED)

    harness.delivery.deliver_batch(queued)  # the worker runs while the campaign is paused
    welcome = harness.messages()["welcome-article"]
    assert welcome.status == MessageStatus.HELD
    assert welcome.reason == "campaign paused by staff"
    assert welcome.due_at == welcome_due
    # Days pass: nothing goes out, nothing is skipped, the next step stays due.
    harness.run_for(timedelta(days=3), step=timedelta(hours=1))
    assert harness.email.sent == [] and harness.sms.sent == []
    assert list(harness.messages()) == ["welcome-article"]
    assert harness.messages()["welcome-article"].status == MessageStatus.HELD
    waiting = enrollment(db)
    assert waiting.status == EnrollmentStatus.ACTIVE
    assert waiting.next_step_key == "sms-hello"
    assert waiting.next_due_at is not None and waiting.next_due_at < clock.now()

    set_status(db, clock, CampaignStatus.ACTIVE)
    harness.run_for(timedelta(hours=12), step=timedelta(minutes=30))
    sent = harness.messages()
    assert sent["welcome-article"].status == MessageStatus.SENT
    assert sent["sms-hello"].status == MessageStatus.SENT
    assert sent["why-stretching-alone"].status == MessageStatus.SENT
    assert harness.email.sent[0].message_ref == sent["welcome-article"].ref


def test_a_paused_campaign_sends_its_overdue_sms_inside_the_window_after_resuming(
    harness: Harness, db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings)  # Monday 09:00 in Chicago
    harness.dispatch()
    set_status(db, clock, CampaignStatus.PAUSED)
    clock.advance(timedelta(hours=12))  # 21:00: the SMS (due 11:00) is overdue, and it is night
    harness.dispatch()
    set_status(db, clock, CampaignStatus.ACTIVE)
    harness.dispatch()
    hello = harness.messages()["sms-hello"]
    assert hello.status == MessageStatus.HELD
    assert hello.reason is not None and hello.reason.startswith("outside sending hours")
    assert hello.due_at == clock.now() + timedelta(hours=13)  # Tuesday 10:00, the step's window


def test_a_paused_campaign_enrols_no_new_leads(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_status(db, clock, CampaignStatus.PAUSED)
    assert capture(db.factory, clock, settings).enrolled is False


def test_archiving_ends_enrollments_and_skips_waiting_messages_with_a_reason(
    harness: Harness, db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings)
    capture(db.factory, clock, settings, email="lee@example.com", phone="+12175550123")
    queued = harness.dispatch(deliver=False)
    with db.factory() as session:
        assert enrollments_archive_would_end(session, campaign_id(db)) == 2
    set_status(db, clock, CampaignStatus.ARCHIVED)

    harness.delivery.deliver_batch(queued)
    clock.advance(timedelta(days=20))
    harness.dispatch()
    assert harness.email.sent == []
    with db.factory() as session:
        messages = session.scalars(select(Message)).all()
        assert [(m.status, m.reason) for m in messages] == [
            (MessageStatus.SKIPPED, ARCHIVED_REASON)
        ] * 2
        ended = session.scalars(select(Enrollment)).all()
        assert {(e.status, e.end_reason) for e in ended} == {
            (EnrollmentStatus.EXITED, ARCHIVED_REASON)
        }


def test_archiving_a_paused_campaign_skips_the_messages_it_was_holding(
    harness: Harness, db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings)
    queued = harness.dispatch(deliver=False)
    set_status(db, clock, CampaignStatus.PAUSED)
    harness.delivery.deliver_batch(queued)
    assert harness.messages()["welcome-article"].status == MessageStatus.HELD

    set_status(db, clock, CampaignStatus.ARCHIVED)
    welcome = harness.messages()["welcome-article"]
    assert (welcome.status, welcome.reason) == (MessageStatus.SKIPPED, ARCHIVED_REASON)
    harness.run_for(timedelta(days=3), step=timedelta(hours=1))
    assert harness.email.sent == [] and list(harness.messages()) == ["welcome-article"]


def campaign_id(db: Database) -> int:
    with db.factory() as session:
        return session.scalars(select(Campaign.id).where(Campaign.slug == SLUG)).one()


@pytest.mark.parametrize(
    ("start", "target", "why"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.PAUSED, "cannot pause campaign"),
        (CampaignStatus.ARCHIVED, CampaignStatus.ACTIVE, "archived is final"),
        (CampaignStatus.ACTIVE, CampaignStatus.ACTIVE, "is already active"),
    ],
)
def test_moves_the_state_machine_does_not_allow_are_refused(
    db: Database,
    clock: ManualClock,
    campaign: int,
    start: CampaignStatus,
    target: CampaignStatus,
    why: str,
) -> None:
    with db.factory.begin() as session:
        session.get_one(Campaign, campaign).status = start
    with db.factory() as session, pytest.raises(StatusChangeRefused, match=why):
        change_status(session, SLUG, target, STAFF, clock.now())


def test_every_status_change_is_audited_with_the_slug(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        session.get_one(Campaign, campaign).status = CampaignStatus.DRAFT
    for target in (
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
        CampaignStatus.ACTIVE,
        CampaignStatus.ARCHIVED,
    ):
        set_status(db, clock, target)
    with db.factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("campaign.activated", SLUG, STAFF.name),
        ("campaign.paused", SLUG, STAFF.name),
        ("campaign.activated", SLUG, STAFF.name),
        ("campaign.archived", SLUG, STAFF.name),
    ]
    assert entries[-1].detail == {
        "from": "active",
        "to": "archived",
        "enrollments_ended": 1,
        "messages_skipped": 0,
    }
