"""The results rollup: the numbers staff read are the live counts as of the last recount."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from nurture.analytics.funnel import CampaignResults, campaign_results, live_results
from nurture.analytics.period import Period
from nurture.analytics.rollup import refresh_campaigns, refresh_results
from nurture.booking.service import book_screening
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.analytics.scenario import FUNNEL_ALL, STEPS_ALL, Story, seed_results
from tests.factories import capture
from tests.support import Database

SLUG = "hamstring-sciatica"
CHICAGO = ZoneInfo("America/Chicago")
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30: its midnights are not whole UTC hours

PERIODS = {
    "all enrolments": Period(zone=CHICAGO),
    "Monday to Thursday": Period(date(2026, 11, 2), date(2026, 11, 5), CHICAGO),
    "from Thursday": Period(date(2026, 11, 5), None, CHICAGO),
    "Wednesday only": Period(date(2026, 11, 4), date(2026, 11, 5), CHICAGO),
    "Thursday only": Period(date(2026, 11, 5), date(2026, 11, 6), CHICAGO),
}


def rolled_up(db: Database, period: Period) -> CampaignResults:
    """The numbers staff see (a campaign never counted is counted, and kept, first)."""
    with db.factory.begin() as session:
        return campaign_results(session, SLUG, period)


def counted_live(db: Database, period: Period) -> CampaignResults:
    with db.factory() as session:
        return live_results(session, SLUG, period)


def recount(db: Database, campaign: int, now: datetime) -> None:
    with db.factory.begin() as session:
        refresh_results(session, campaign, now)


def funnel(found: CampaignResults) -> dict[str, int]:
    return {stage.label: stage.leads for stage in found.funnel}


@pytest.fixture
def history(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> None:
    """The shared scenario, plus two leads either side of midnight Wednesday in Chicago."""
    seed_results(db.factory, clock, settings)
    clock.set(datetime(2026, 11, 5, 5, 30, tzinfo=UTC))  # 23:30 Wednesday in Chicago
    capture(db.factory, clock, settings, email="late@example.com", phone=None)
    clock.advance(timedelta(hours=1))  # 00:30 Thursday in Chicago
    capture(db.factory, clock, settings, email="early@example.com", phone=None)
    Story(db.factory, clock, settings).until(timedelta(hours=2))  # their welcome emails


@pytest.mark.parametrize("period", list(PERIODS.values()), ids=list(PERIODS))
def test_after_a_recount_the_rollup_shows_exactly_the_live_numbers(
    db: Database, clock: ManualClock, campaign: int, history: None, period: Period
) -> None:
    recount(db, campaign, clock.now())
    found = rolled_up(db, period)
    assert found.counted_at == clock.now()
    assert replace(found, counted_at=None) == counted_live(db, period)


def test_the_rollup_splits_the_clinics_days_at_its_midnight(
    db: Database, clock: ManualClock, campaign: int, history: None
) -> None:
    recount(db, campaign, clock.now())
    everyone = rolled_up(db, PERIODS["all enrolments"])
    assert funnel(everyone)["Enrolled"] == FUNNEL_ALL["Enrolled"] + 2
    assert everyone.steps[0].sent == STEPS_ALL["welcome-article"][0] + 2
    # "late" enrolled at 23:30 on Wednesday, "early" at 00:30 on Thursday with gus.
    assert rolled_up(db, PERIODS["Wednesday only"]).stage("enrolled").leads == 1
    assert rolled_up(db, PERIODS["Thursday only"]).stage("enrolled").leads == 2


def test_a_booking_after_the_count_shows_only_after_the_next_recount(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    seed_results(db.factory, clock, settings)
    before = rolled_up(db, Period(zone=CHICAGO))  # never counted: counted now
    assert before.stage("booked").leads == FUNNEL_ALL["Booked"]
    lead = capture(db.factory, clock, settings, email="new@example.com", phone=None)
    with db.factory.begin() as session:
        book_screening(session, lead.lead_id, source="test", now=clock.now())

    stale = rolled_up(db, Period(zone=CHICAGO))
    assert stale.stage("booked").leads == FUNNEL_ALL["Booked"]
    assert stale.counted_at == before.counted_at
    assert counted_live(db, Period(zone=CHICAGO)).stage("booked").leads == FUNNEL_ALL["Booked"] + 1

    clock.advance(timedelta(minutes=5))
    recount(db, campaign, clock.now())
    fresh = rolled_up(db, Period(zone=CHICAGO))
    assert fresh.stage("booked").leads == FUNNEL_ALL["Booked"] + 1
    assert fresh.stage("enrolled").leads == FUNNEL_ALL["Enrolled"] + 1
    assert fresh.not_attributed.bookings == 1  # booked before any step went out
    assert fresh.counted_at == clock.now()


def test_a_clinic_in_a_half_hour_zone_gets_live_numbers(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    seed_results(db.factory, clock, settings)
    period = Period(date(2026, 11, 1), None, KOLKATA)
    assert not period.on_whole_hours()
    recount(db, campaign, clock.now())
    capture(db.factory, clock, settings, email="new@example.com", phone=None)
    found = rolled_up(db, period)
    assert found.counted_at is None  # counted live, so the new lead is already there
    assert found.stage("enrolled").leads == FUNNEL_ALL["Enrolled"] + 1


def test_the_beat_task_recounts_every_active_campaign(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
) -> None:
    from workers import tasks
    from workers.celery_app import app
    from workers.context import WorkerContext, use_context

    use_context(WorkerContext(clock=clock, sessions=db.factory))
    seed_results(db.factory, clock, settings)
    assert rolled_up(db, Period()).stage("enrolled").leads == FUNNEL_ALL["Enrolled"]
    capture(db.factory, clock, settings, email="new@example.com", phone=None)
    clock.advance(timedelta(minutes=5))

    assert tasks.refresh_results() == 1  # the one campaign, which is active
    found = rolled_up(db, Period())
    assert found.stage("enrolled").leads == FUNNEL_ALL["Enrolled"] + 1
    assert found.counted_at == clock.now()
    entry = app.conf.beat_schedule["refresh-results"]
    assert entry["task"] == tasks.refresh_results.name
    assert entry["schedule"] == settings.results_refresh_seconds == 300


def test_archived_campaigns_keep_their_last_count_unless_asked(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    seed_results(db.factory, clock, settings)
    rolled_up(db, Period())
    with db.factory.begin() as session:
        session.execute(update(Campaign).values(status=CampaignStatus.ARCHIVED))
    assert refresh_campaigns(db.factory, clock.now()) == 0
    assert refresh_campaigns(db.factory, clock.now(), [campaign]) == 1
