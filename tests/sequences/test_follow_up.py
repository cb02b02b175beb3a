"""Follow-up campaigns: an event enrols the lead once, the sequence counted from the
event plus the trigger's delay; bookings still end them; the frequency cap holds across
campaigns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from nurture.booking.front_desk import move_desk_status
from nurture.booking.models import DeskStatus
from nurture.booking.service import book_screening, book_slot, cancel_booking
from nurture.campaigns.definition import CampaignDefinition, load_campaign_dir
from nurture.campaigns.models import Campaign
from nurture.campaigns.spec import CampaignSpec, StepSpec, TriggerSpec
from nurture.campaigns.sync import sync_campaign
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.leads.capture import active_campaign, enrol_lead
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.follow_up import FollowUpEvent, start_follow_ups
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.booking.clinic import TUE_0900, set_availability
from tests.factories import capture
from tests.harness import Harness
from tests.support import REPO, Database

RECOVERY = REPO / "templates" / "campaigns" / "screening-recovery"


def one_email(slug: str, *, starts_on: list[TriggerSpec] | None = None) -> CampaignDefinition:
    """A campaign of one welcome email, sent at once."""
    spec = CampaignSpec(
        slug=slug,
        name=slug,
        starts_on=starts_on or [],
        steps=[
            StepSpec(
                key="hello",
                delay="0m",
                channel=Channel.EMAIL,
                template="hello.md.j2",
                subject=f"Hello from {slug}",
            )
        ],
    )
    return CampaignDefinition(spec, {"hello.md.j2": "Hi {{ first_name }}, a note.\n"})


def sync(db: Database, clock: ManualClock, *definitions: CampaignDefinition) -> None:
    with db.factory.begin() as session:
        for definition in definitions:
            sync_campaign(session, definition, clock.now())


def enrol(db: Database, clock: ManualClock, settings: Settings, lead_id: int, slug: str) -> None:
    with db.factory.begin() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        policy = SendingPolicy.from_settings(settings)
        enrol_lead(session, lead, active_campaign(session, slug), clock.now(), settings, policy)


def enrollments(db: Database, slug: str) -> list[Enrollment]:
    with db.factory() as session:
        return list(
            session.scalars(
                select(Enrollment)
                .join(Campaign, Campaign.id == Enrollment.campaign_id)
                .where(Campaign.slug == slug)
            )
        )


def campaign_messages(db: Database, slug: str) -> list[Message]:
    with db.factory() as session:
        return list(
            session.scalars(
                select(Message)
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.slug == slug)
                .order_by(Message.id)
            )
        )


REENGAGE = TriggerSpec(event="sequence_ended_without_booking", campaign="intro", delay="30d")


def test_a_sequence_ending_without_booking_starts_the_follow_up_once_thirty_days_on(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    sync(db, clock, one_email("intro"), one_email("reengage", starts_on=[REENGAGE]))
    lead = capture(db.factory, clock, settings)
    enrol(db, clock, settings, lead.lead_id, "intro")
    harness = Harness(db, clock, settings)
    ended_at = clock.now()
    harness.dispatch()  # intro's only step is written: its sequence is done
    harness.dispatch()

    [intro] = enrollments(db, "intro")
    assert intro.status == EnrollmentStatus.COMPLETED
    [follow_up] = enrollments(db, "reengage")
    assert follow_up.enrolled_at == ended_at + timedelta(days=30)
    assert follow_up.next_due_at is not None
    assert ended_at + timedelta(days=30) <= follow_up.next_due_at < ended_at + timedelta(days=31)
    # The same event again (a second dispatcher saw it too) enrols nobody twice.
    with db.factory.begin() as session:
        again = FollowUpEvent(lead.lead_id, "sequence_ended_without_booking", intro.campaign_id)
        assert (
            start_follow_ups(
                session,
                [again],
                clock.now(),
                policy=SendingPolicy.from_settings(settings),
                clinic_zone=settings.clinic_zone,
            )
            == []
        )
    assert len(enrollments(db, "reengage")) == 1

    harness.run_for(timedelta(days=29), step=timedelta(hours=12))
    assert campaign_messages(db, "reengage") == []
    harness.run_for(timedelta(days=2), step=timedelta(hours=1))
    [sent] = campaign_messages(db, "reengage")
    assert sent.status == MessageStatus.SENT


def test_a_sequence_of_another_campaign_ending_starts_no_follow_up(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    sync(
        db,
        clock,
        one_email("intro"),
        one_email("other"),
        one_email("reengage", starts_on=[REENGAGE]),
    )
    lead = capture(db.factory, clock, settings)
    enrol(db, clock, settings, lead.lead_id, "other")
    Harness(db, clock, settings).dispatch()
    assert enrollments(db, "other")[0].status == EnrollmentStatus.COMPLETED
    assert enrollments(db, "reengage") == []


def test_a_lead_holding_a_booking_when_the_sequence_ends_gets_no_re_engagement(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    sync(db, clock, one_email("intro"), one_email("reengage", starts_on=[REENGAGE]))
    lead = capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        intro_id = session.scalars(select(Campaign.id).where(Campaign.slug == "intro")).one()
        book_screening(session, lead.lead_id, source="test", now=clock.now())
        started = start_follow_ups(
            session,
            [FollowUpEvent(lead.lead_id, "sequence_ended_without_booking", intro_id)],
            clock.now(),
            policy=SendingPolicy.from_settings(settings),
            clinic_zone=settings.clinic_zone,
        )
    assert started == []
    assert enrollments(db, "reengage") == []


@pytest.fixture
def recovery(db: Database, clock: ManualClock, campaign: int) -> CampaignDefinition:
    """The seeded campaign and the shipped recovery campaign, synced; a clinic week open."""
    definition = load_campaign_dir(RECOVERY)
    sync(db, clock, definition)
    set_availability(db.factory, clock)
    return definition


def booked_lead(db: Database, clock: ManualClock, settings: Settings) -> tuple[int, int]:
    lead = capture(db.factory, clock, settings)
    with db.factory.begin() as session:
        booking = book_slot(
            session, settings, lead.lead_id, TUE_0900, source="test", now=clock.now()
        )
        return lead.lead_id, booking.id


def test_a_cancelled_screening_starts_the_recovery_a_day_later_and_its_email_goes_out(
    db: Database, clock: ManualClock, settings: Settings, recovery: CampaignDefinition
) -> None:
    _, booking_id = booked_lead(db, clock, settings)
    cancelled_at = clock.now()
    for _ in range(2):  # cancelling twice changes nothing, and enrols once
        with db.factory.begin() as session:
            cancel_booking(session, settings, booking_id, source="test", now=clock.now())

    [seeded] = enrollments(db, "hamstring-sciatica")
    assert seeded.status == EnrollmentStatus.EXITED  # the booking ended it, as ever
    [follow_up] = enrollments(db, "screening-recovery")
    assert follow_up.status == EnrollmentStatus.ACTIVE
    assert follow_up.enrolled_at == cancelled_at + timedelta(days=1)

    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=20))
    assert campaign_messages(db, "screening-recovery") == []
    harness.run_for(timedelta(hours=12))
    [email] = campaign_messages(db, "screening-recovery")
    # The cancelled booking is not a booked screening: the gate lets the recovery out.
    assert (email.step_key, email.status) == ("another-time", MessageStatus.SENT)


def test_a_no_show_starts_the_recovery_and_booking_again_ends_it(
    db: Database, clock: ManualClock, settings: Settings, recovery: CampaignDefinition
) -> None:
    lead_id, booking_id = booked_lead(db, clock, settings)
    clock.set(TUE_0900 + timedelta(minutes=40))
    marked_at = clock.now()
    with db.factory.begin() as session:
        move_desk_status(session, settings, booking_id, DeskStatus.NO_SHOW, now=clock.now())
    [follow_up] = enrollments(db, "screening-recovery")
    assert follow_up.enrolled_at == marked_at + timedelta(hours=3)

    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=4))
    [email] = campaign_messages(db, "screening-recovery")
    assert email.status == MessageStatus.SENT  # a missed screening is not the exit goal

    with db.factory.begin() as session:
        book_slot(
            session, settings, lead_id, TUE_0900 + timedelta(days=2), source="test", now=clock.now()
        )
    [ended] = enrollments(db, "screening-recovery")
    assert ended.status == EnrollmentStatus.EXITED
    harness.run_for(timedelta(days=4))
    assert len(campaign_messages(db, "screening-recovery")) == 1


def test_the_frequency_cap_holds_across_two_campaigns(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    capped = settings.model_copy(update={"email_frequency_cap": "1/24h"})
    sync(db, clock, one_email("first"), one_email("second"))
    lead = capture(db.factory, clock, capped)
    enrol(db, clock, capped, lead.lead_id, "first")
    enrol(db, clock, capped, lead.lead_id, "second")
    Harness(db, clock, capped).dispatch()

    [first] = campaign_messages(db, "first")
    [second] = campaign_messages(db, "second")
    assert first.status == MessageStatus.SENT
    assert second.status == MessageStatus.HELD
    assert second.reason == "frequency cap reached for email"
    with db.factory() as session:
        sent = session.scalar(
            select(func.count(Message.id)).where(Message.status == MessageStatus.SENT)
        )
    assert sent == 1
