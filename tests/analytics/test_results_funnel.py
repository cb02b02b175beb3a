"""A campaign's funnel and per-step results, counted from the rows the workers write."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nurture.analytics.charts import funnel_chart
from nurture.analytics.funnel import (
    NOT_ATTRIBUTED,
    CampaignResults,
    UnknownCampaign,
    campaign_results,
)
from nurture.analytics.period import Period, PeriodError, parse_period
from nurture.booking.service import book_screening
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.analytics.scenario import FUNNEL_ALL, FUNNEL_FROM_THURSDAY, STEPS_ALL, seed_results
from tests.factories import capture
from tests.support import Database

SLUG = "hamstring-sciatica"
CHICAGO = ZoneInfo("America/Chicago")


def results(db: Database, period: Period | None = None) -> CampaignResults:
    with db.factory() as session:
        return campaign_results(session, SLUG, period or Period(zone=CHICAGO))


def funnel(found: CampaignResults) -> dict[str, int]:
    return {stage.label: stage.leads for stage in found.funnel}


def numbers(found: CampaignResults) -> dict[str, tuple[int, ...]]:
    return {
        row.key: (
            row.sent,
            row.delivered,
            row.opened,
            row.clicked,
            row.replies,
            row.unsubscribes,
            row.bounces,
            row.bookings,
        )
        for row in found.rows()
        if row.sent or row.replies or row.unsubscribes or row.bookings
    }


@pytest.fixture
def history(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> None:
    seed_results(db.factory, clock, settings)


def test_the_seeded_history_gives_the_expected_funnel_and_step_numbers(
    db: Database, history: None
) -> None:
    found = results(db)
    assert funnel(found) == FUNNEL_ALL
    assert numbers(found) == STEPS_ALL
    welcome = found.steps[0]
    # Rates are over delivered emails: 2 of 6 opened, 1 of 6 clicked.
    assert welcome.open_rate == pytest.approx(2 / 6)
    assert welcome.click_rate == pytest.approx(1 / 6)
    assert found.steps[1].open_rate is None  # a text step has no opens
    assert [step.key for step in found.steps][:3] == list(STEPS_ALL)
    assert len(found.steps) == 12  # steps nobody reached yet are listed with zeros


def test_a_booking_goes_to_the_last_step_on_any_channel_a_reply_to_its_own_channel(
    db: Database, history: None
) -> None:
    by_step = {row.key: row for row in results(db).steps}
    # Eve got the welcome email, then sms-hello; she replied by email, then booked.
    # Her reply answers the email (welcome-article); her booking follows sms-hello.
    assert by_step["sms-hello"].bookings == 1 and by_step["sms-hello"].replies == 0
    assert by_step["welcome-article"].replies == 2
    # Hal's STOP answers the text he got: an unsubscribe on sms-hello, not a reply.
    assert by_step["sms-hello"].unsubscribes == 1


def test_each_credited_column_adds_up_to_the_funnel(db: Database, history: None) -> None:
    found = results(db)
    totals = found.totals()
    assert totals.replies == found.stage("replied").leads
    assert totals.bookings == found.stage("booked").leads
    assert totals.sent == sum(step.sent for step in found.steps)
    assert totals.open_rate == pytest.approx(3 / 7)  # 3 opened of 7 delivered emails


def test_the_period_counts_leads_by_the_day_they_enrolled(db: Database, history: None) -> None:
    later = results(db, Period(date(2026, 11, 5), None, CHICAGO))
    assert funnel(later) == FUNNEL_FROM_THURSDAY
    assert later.steps[0].sent == 1 and later.steps[0].delivered == 1
    earlier = results(db, Period(None, date(2026, 11, 5), CHICAGO))
    assert funnel(earlier)["Enrolled"] == 7
    assert numbers(earlier)["welcome-article"][:2] == (7, 5)
    assert funnel(
        results(db, Period(date(2026, 11, 3), date(2026, 11, 5), CHICAGO))
    ) == dict.fromkeys(FUNNEL_ALL, 0)


def test_the_period_uses_the_clinics_calendar_days(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    # 23:30 on Wednesday in Chicago is already Thursday in UTC: it is Wednesday's.
    clock.set(datetime(2026, 11, 5, 5, 30, tzinfo=ZoneInfo("UTC")))
    capture(db.factory, clock, settings, email="late@example.com", phone=None)
    clock.advance(timedelta(hours=1))  # 00:30 on Thursday in Chicago
    capture(db.factory, clock, settings, email="early@example.com", phone=None)
    thursday = Period(date(2026, 11, 5), date(2026, 11, 6), CHICAGO)
    wednesday = Period(date(2026, 11, 4), date(2026, 11, 5), CHICAGO)
    assert results(db, thursday).stage("enrolled").leads == 1
    assert results(db, wednesday).stage("enrolled").leads == 1


def test_a_booking_before_any_step_went_out_is_shown_as_not_attributed(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings, phone=None)
    with db.factory.begin() as session:
        book_screening(session, lead.lead_id, source="test", now=clock.now())
    found = results(db)
    assert found.stage("booked").leads == 1
    assert found.not_attributed.bookings == 1
    assert found.rows()[-1].key == NOT_ATTRIBUTED
    assert found.totals().bookings == 1


def test_nobody_enrolled_means_zeros_and_no_rates(db: Database, campaign: int) -> None:
    found = results(db)
    assert funnel(found) == dict.fromkeys(FUNNEL_ALL, 0)
    assert all(stage.share is None for stage in found.funnel)
    assert found.totals().open_rate is None
    assert found.not_attributed.key not in [row.key for row in found.rows()]
    assert all(bar.width == 0 for group in funnel_chart(found).groups for bar in group.bars)


def test_an_unknown_campaign_says_so(db: Database, campaign: int) -> None:
    with db.factory() as session, pytest.raises(UnknownCampaign):
        campaign_results(session, "knees", Period())


def test_typed_dates_are_checked_and_named() -> None:
    with pytest.raises(PeriodError) as bad:
        parse_period("2026-11-31", "next week", CHICAGO, names=("since", "until"))
    assert set(bad.value.problems) == {"since", "until"}
    assert "is not a date" in bad.value.problems["since"]
    with pytest.raises(PeriodError) as backwards:
        parse_period("2026-11-05", "2026-11-05", CHICAGO, names=("since", "until"))
    assert list(backwards.value.problems) == ["until"]
    assert parse_period(" ", "", CHICAGO, names=("since", "until")) == Period(zone=CHICAGO)
    period = parse_period("2026-11-02", "2026-11-09", CHICAGO, names=("since", "until"))
    assert period.start() == datetime(2026, 11, 2, 6, 0, tzinfo=ZoneInfo("UTC"))
    assert period.describe() == "enrolled from 2 Nov 2026, before 9 Nov 2026"
