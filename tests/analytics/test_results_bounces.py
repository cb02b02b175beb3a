"""Bounces on the Results page land on the step whose email bounced, within the period."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from nurture.analytics.funnel import campaign_results
from nurture.analytics.period import Period
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.analytics.scenario import Story, seed_results
from tests.support import Database

CHICAGO = ZoneInfo("America/Chicago")


def bounces(db: Database, period: Period) -> dict[str, int]:
    with db.factory() as session:
        found = campaign_results(session, "hamstring-sciatica", period)
    return {row.key: row.bounces for row in found.steps if row.bounces}


def test_each_bounce_is_counted_on_its_own_step_and_only_for_leads_in_the_period(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    seed_results(db.factory, clock, settings)  # di's welcome email bounced
    story = Story(db.factory, clock, settings)
    story.events("fay", "why-stretching-alone", "bounce")
    story.events("gus", "welcome-article", "bounce")  # gus enrolled on Thursday

    assert bounces(db, Period(zone=CHICAGO)) == {"welcome-article": 2, "why-stretching-alone": 1}
    from_thursday = Period(date(2026, 11, 5), None, CHICAGO)
    assert bounces(db, from_thursday) == {"welcome-article": 1}
