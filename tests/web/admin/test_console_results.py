"""The Results page and its CSV export: the funnel, the per-step table and the charts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from nurture.analytics.models import ResultsRefresh
from nurture.booking.service import book_screening
from nurture.campaigns.definition import CampaignDefinition, load_campaign_dir
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.staff.models import AuditEntry
from tests.analytics.reading import csv_blocks, page_table, svg_chart
from tests.analytics.scenario import (
    FUNNEL_ALL,
    FUNNEL_FROM_THURSDAY,
    RATES_ALL,
    STEPS_ALL,
    seed_results,
)
from tests.factories import capture
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

SLUG = "hamstring-sciatica"


@pytest.fixture
def history(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> None:
    seed_results(db.factory, clock, settings)


@pytest.fixture
def marketing(client: TestClient, db: Database, clock: ManualClock) -> str:
    return sign_in_as(client, db, clock, "marketing")


def funnel_of(rows: list[list[str]]) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in rows[1:]}


def step_numbers(rows: list[list[str]]) -> dict[str, tuple[int, ...]]:
    """Step -> (sent, delivered, opened, clicked, replies, unsubscribes, bounces, bookings)."""
    header = rows[0]
    wanted = [
        header.index(name)
        for name in (
            "Sent",
            "Delivered",
            "Opened",
            "Clicked",
            "Replies",
            "Unsubscribes",
            "Bounces",
            "Bookings",
        )
    ]
    return {
        row[0]: tuple(int(row[i]) if row[i] != "n/a" else 0 for i in wanted)
        for row in rows[1:]
        if row[0] in STEPS_ALL
    }


def test_results_page_shows_the_funnel_and_each_steps_numbers(
    client: TestClient, history: None, marketing: str
) -> None:
    page = client.get("/admin/results")
    assert page.status_code == 200
    assert funnel_of(page_table(page.text, "funnel-table")) == FUNNEL_ALL
    steps = page_table(page.text, "step-results")
    assert step_numbers(steps) == STEPS_ALL
    header = steps[0]
    rates = {
        row[0]: (row[header.index("Open rate")], row[header.index("Click rate")])
        for row in steps[1:]
    }
    assert {key: rates[key] for key in RATES_ALL} == RATES_ALL
    # Texts have no opens; none of these was delivered, so there is no click rate either.
    assert rates["sms-hello"] == ("n/a", "n/a")
    totals = steps[-1]
    assert totals[0] == "All steps"
    assert totals[header.index("Bookings")] == str(FUNNEL_ALL["Booked"])
    assert totals[header.index("Replies")] == str(FUNNEL_ALL["Replied"])


def test_the_date_range_counts_only_leads_enrolled_in_it_and_says_so(
    client: TestClient, history: None, marketing: str
) -> None:
    page = client.get("/admin/results", params={"campaign": SLUG, "since": "2026-11-05"})
    assert funnel_of(page_table(page.text, "funnel-table")) == FUNNEL_FROM_THURSDAY
    assert form_fields(page.text)["since"] == "2026-11-05"
    assert "enrolled from 5 Nov 2026" in text_by_id(page.text, "results-period")
    assert "by enrolment date" in text_by_id(page.text, "definitions").lower()
    rule = text_by_id(page.text, "attribution-rule")
    assert "last campaign step sent to that lead before" in rule
    earlier = client.get("/admin/results", params={"until": "2026-11-05"})
    funnel = funnel_of(page_table(earlier.text, "funnel-table"))
    assert funnel["Enrolled"] == 7 and funnel["Booked"] == 2


def test_a_bad_date_is_an_inline_error_naming_the_field_and_keeps_what_was_typed(
    client: TestClient, campaign: int, marketing: str
) -> None:
    page = client.get("/admin/results", params={"since": "2026-02-30", "until": "2026-12-01"})
    assert page.status_code == 400
    assert "is not a date" in text_by_id(page.text, "since-error")
    assert "Enrolled from" in page.text
    fields = form_fields(page.text)
    assert (fields["since"], fields["until"]) == ("2026-02-30", "2026-12-01")
    assert 'id="funnel"' not in page.text  # no numbers for a period we could not read


def test_an_end_before_the_start_is_refused_on_the_end_field(
    client: TestClient, campaign: int, marketing: str
) -> None:
    page = client.get("/admin/results", params={"since": "2026-11-05", "until": "2026-11-01"})
    assert page.status_code == 400
    assert "must be later than since" in text_by_id(page.text, "until-error")


def test_an_unknown_campaign_is_named_as_the_problem(
    client: TestClient, campaign: int, marketing: str
) -> None:
    page = client.get("/admin/results", params={"campaign": "knees"})
    assert page.status_code == 404
    assert "no campaign has that name" in text_by_id(page.text, "campaign-error")


def test_the_first_active_campaign_is_shown_by_default(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    seeded_definition: CampaignDefinition,
    campaign: int,
    marketing: str,
) -> None:
    early = replace(
        seeded_definition,
        spec=seeded_definition.spec.model_copy(update={"slug": "a-paused", "name": "Paused one"}),
    )
    with db.factory.begin() as session:
        paused = sync_campaign(session, early, clock.now()).campaign_id
        session.execute(
            update(Campaign).where(Campaign.id == paused).values(status=CampaignStatus.PAUSED)
        )
    page = client.get("/admin/results")
    assert "Tight hamstrings" in text_by_id(page.text, "results-heading")


def test_the_charts_have_labelled_bars_to_scale(
    client: TestClient, history: None, marketing: str
) -> None:
    page = client.get("/admin/results")
    chart = svg_chart(page.text, "funnel")
    assert chart.title == "Funnel"
    assert "Funnel for Tight hamstrings and the sciatic nerve" in chart.label
    assert chart.group_labels == list(FUNNEL_ALL)
    assert [bar.texts for bar in chart.bars] == [
        ["8 (100.0%)"],
        ["8 (100.0%)"],
        ["3 (37.5%)"],
        ["1 (12.5%)"],
        ["2 (25.0%)"],
        ["2 (25.0%)"],
    ]
    assert chart.bars[2].title == "Opened: 3 leads, 37.5% of enrolled"
    # Bars are to scale: Opened (3 of 8) is three eighths as long as Enrolled.
    enrolled, opened = chart.bars[0].width, chart.bars[2].width
    assert enrolled and opened and opened == pytest.approx(enrolled * 3 / 8, abs=0.1)
    # Per step that went out: sent, and for emails opened and clicked.
    chart = svg_chart(page.text, "step-chart")
    assert chart.group_labels == [
        "welcome-article (email)",
        "sms-hello (sms)",
        "why-stretching-alone (email)",
    ]
    welcome = [(bar.series, bar.texts[0]) for bar in chart.bars[:3]]
    assert welcome == [("sent", "8"), ("opened", "2"), ("clicked", "1")]
    assert chart.bars[3].series == "sent" and chart.bars[4].title.startswith("why-stretching")


def test_a_campaign_name_with_html_is_escaped_in_the_chart_and_page(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    seeded_definition: CampaignDefinition,
    marketing: str,
) -> None:
    name = '<script>alert("x")</script> & <b>Knees</b>'
    spec = seeded_definition.spec.model_copy(update={"slug": "knees", "name": name})
    with db.factory.begin() as session:
        sync_campaign(session, replace(seeded_definition, spec=spec), clock.now())
    page = client.get("/admin/results", params={"campaign": "knees"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<b>Knees" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Knees" in page.text
    chart = svg_chart(page.text, "funnel")
    assert name in chart.label  # read back unescaped: it was text, never markup


def test_the_csv_export_has_the_pages_numbers(
    client: TestClient, history: None, marketing: str
) -> None:
    params = {"campaign": SLUG, "since": "", "until": "2026-11-05"}
    page = client.get("/admin/results", params=params)
    export = client.get("/admin/results/export.csv", params=params)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert (
        'filename="results-hamstring-sciatica-before-2026-11-05.csv"'
        in export.headers["content-disposition"]
    )
    heading, funnel, steps = csv_blocks(export.text)
    assert heading[0][:2] == ["Campaign", SLUG]
    assert ["Enrolled before", "2026-11-05"] in heading
    assert funnel == page_table(page.text, "funnel-table")
    assert steps == page_table(page.text, "step-results")
    # The page's download link asks for the same campaign and dates.
    link = "/admin/results/export.csv?campaign=hamstring-sciatica&amp;since=&amp;until=2026-11-05"
    assert f'href="{link}"' in page.text


def test_the_export_refuses_a_bad_date_naming_the_field(
    client: TestClient, campaign: int, marketing: str
) -> None:
    export = client.get("/admin/results/export.csv", params={"until": "soon"})
    assert export.status_code == 400
    assert "Enrolled before (until): 'soon' is not a date" in export.text


def test_with_no_campaigns_the_page_says_so(client: TestClient, marketing: str) -> None:
    page = client.get("/admin/results")
    assert page.status_code == 200
    assert "No campaigns yet" in text_by_id(page.text, "no-campaigns")


@pytest.mark.parametrize("path", ["/admin/results", "/admin/results/export.csv"])
def test_front_desk_staff_cannot_see_results(
    client: TestClient, db: Database, clock: ManualClock, campaign: int, path: str
) -> None:
    sign_in_as(client, db, clock, "frontdesk")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/results", "/admin/results/export.csv"])
def test_anonymous_visitors_are_sent_to_sign_in(
    client: TestClient, campaign: int, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_admins_can_see_results(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "admin")
    assert client.get("/admin/results").status_code == 200


def test_the_page_says_when_its_numbers_were_counted_in_the_clinics_time(
    client: TestClient, clock: ManualClock, history: None, marketing: str
) -> None:
    assert clock.now() == datetime(2026, 11, 5, 16, 0, tzinfo=UTC)
    page = client.get("/admin/results")
    assert text_by_id(page.text, "counted-at") == (
        "Counted at 5 Nov 2026, 10:00 CST · recounted every 5 minutes"
    )


def test_recount_now_shows_a_booking_made_since_and_keeps_the_filters(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    history: None,
    marketing: str,
) -> None:
    filters = {"campaign": SLUG, "since": "2026-11-02", "until": "2026-11-09"}
    first = client.get("/admin/results", params=filters)
    assert funnel_of(page_table(first.text, "funnel-table"))["Booked"] == 2
    with db.factory.begin() as session:
        fay = session.scalars(select(Lead.id).where(Lead.email == "fay@example.com")).one()
        book_screening(session, fay, source="test", now=clock.now())
    clock.advance(timedelta(minutes=2))

    stale = client.get("/admin/results", params=filters)
    assert funnel_of(page_table(stale.text, "funnel-table"))["Booked"] == 2
    form = form_fields(stale.text.split('action="/admin/results/recount"')[1])
    assert {name: form[name] for name in filters} == filters

    response = post_form(client, "/admin/results/recount", marketing, filters)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/admin/results?campaign=hamstring-sciatica&since=2026-11-02&until=2026-11-09"
    )
    fresh = client.get(response.headers["location"])
    assert funnel_of(page_table(fresh.text, "funnel-table"))["Booked"] == 3
    assert "10:02 CST" in text_by_id(fresh.text, "counted-at")
    assert "Results recounted" in fresh.text
    with db.factory() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and (entry.action, entry.target) == ("results.recount", SLUG)


def test_front_desk_staff_cannot_recount(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    token = sign_in_as(client, db, clock, "frontdesk")
    response = post_form(client, "/admin/results/recount", token, {"campaign": SLUG})
    assert response.status_code == 403
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(ResultsRefresh)) == 0


def test_recount_without_the_csrf_token_is_refused(
    client: TestClient, db: Database, campaign: int, marketing: str
) -> None:
    response = client.post("/admin/results/recount", data={"campaign": SLUG})
    assert response.status_code == 403
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(ResultsRefresh)) == 0


def test_the_page_opens_on_the_campaign_leads_are_in_not_a_follow_up_nobody_reached(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    marketing: str,
) -> None:
    follow_up = load_campaign_dir(settings.templates_dir / "campaigns" / "hamstring-reengage")
    with db.factory.begin() as session:
        sync_campaign(session, follow_up, clock.now())  # active, and first by its slug
    capture(db.factory, clock, settings, email="ann@example.com", first_name="Ann")
    page = client.get("/admin/results")
    assert page.status_code == 200
    assert text_by_id(page.text, "results-heading").startswith(
        "Tight hamstrings and the sciatic nerve"
    )
