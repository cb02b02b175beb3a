"""Console pages: a campaign's results (funnel, per-step table, charts) and their CSV export.

The numbers come from nurture.analytics.funnel, the same function `nurture stats` uses:
the rollup as last counted, which "Recount now" counts again on the spot.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse, Response

from nurture.analytics.charts import funnel_chart, step_chart
from nurture.analytics.export import csv_filename, write_results_csv
from nurture.analytics.funnel import (
    CampaignResults,
    UnknownCampaign,
    campaign_choices,
    campaign_results,
    recount_results,
)
from nurture.analytics.period import Period, PeriodError, parse_period
from nurture.analytics.report import FUNNEL_HEADERS, STEP_HEADERS, funnel_cells, step_rows
from nurture.analytics.variants import (
    METRIC_LABELS,
    StepTest,
    campaign_tests,
    difference_cell,
    rate_cell,
)
from nurture.campaigns.models import Campaign
from nurture.config import Settings
from nurture.locations.directory import Locations, Place
from nurture.staff.service import record_audit
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import ResultsUser, actor
from nurture.web.admin.pages import NO_STORE, admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])

# The query parameters as the form names them; errors name the field as its label does.
FIELDS = ("since", "until")
LABELS = {
    "since": "Enrolled from",
    "until": "Enrolled before",
    "campaign": "Campaign",
    "location": "Location",
}


@dataclass(slots=True)
class Choice:
    """What the reader asked for, the results when it made sense, and what did not."""

    slug: str | None
    since: str
    until: str
    campaigns: list[Campaign] = field(default_factory=list)
    location: str = ""  # a location's slug; empty: every location together
    locations: list[Place] = field(default_factory=list)
    # Each location's funnel side by side, when every location is shown together.
    by_location: list[tuple[Place, CampaignResults]] = field(default_factory=list)
    results: CampaignResults | None = None
    tests: list[StepTest] = field(default_factory=list)  # the campaign's A/B tests
    problems: dict[str, str] = field(default_factory=dict)
    status_code: int = 200


def _choose(
    session: Session,
    settings: Settings,
    now: datetime,
    campaign: str,
    since: str,
    until: str,
    location: str = "",
) -> Choice:
    campaigns = campaign_choices(session)
    slug = campaign.strip() or (campaigns[0].slug if campaigns else None)
    places = list(Locations.load(session))
    choice = Choice(slug, since, until, campaigns, location.strip().lower(), places)
    try:
        period = parse_period(since, until, settings.clinic_zone, names=FIELDS)
    except PeriodError as exc:
        choice.problems.update(exc.problems)
        choice.status_code = 400
        period = Period(zone=settings.clinic_zone)
    if choice.location:
        place = next((p for p in places if p.slug == choice.location), None)
        if place is None:
            choice.problems["location"] = "no location has that name; pick one from the list"
            choice.status_code = 400
        else:
            period = replace(period, location_id=place.id)
    if slug is None or choice.problems:
        return choice
    try:
        if not choice.location and len(places) > 1:
            choice.by_location = [
                (place, campaign_results(session, slug, replace(period, location_id=place.id)))
                for place in places
            ]
        choice.results = campaign_results(session, slug, period, now=now)
        choice.tests = campaign_tests(session, slug, period)
        session.commit()  # a campaign never counted before was counted just now: keep it
    except UnknownCampaign:
        choice.problems["campaign"] = "no campaign has that name; pick one from the list"
        choice.status_code = 404
    return choice


def _chosen(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    campaign: str = "",
    since: str = "",
    until: str = "",
    location: Annotated[str, Query(max_length=40)] = "",
) -> Choice:
    return _choose(session, settings, clock.now(), campaign, since, until, location)


# Declared after the guard in each view: a refused visitor never has the results counted.
Chosen = Annotated[Choice, Depends(_chosen)]


@router.get("/results")
def results_page(
    request: Request, user: ResultsUser, settings: SettingsDep, choice: Chosen
) -> Response:
    """A campaign's funnel and per-step results for leads enrolled in the chosen period."""
    since, until = choice.since, choice.until
    results = choice.results
    context: dict[str, Any] = {
        "campaigns": choice.campaigns,
        "chosen": choice.slug,
        "typed": {"since": since, "until": until},
        "problems": choice.problems,
        "messages": [f"{LABELS[name]}: {text}" for name, text in choice.problems.items()],
        "results": results,
        "funnel_headers": FUNNEL_HEADERS,
        "step_headers": STEP_HEADERS,
        "funnel_rows": [funnel_cells(stage) for stage in results.funnel] if results else [],
        "step_rows": step_rows(results) if results else [],
        "funnel_chart": funnel_chart(results) if results else None,
        "step_chart": step_chart(results) if results else None,
        "export_query": {
            "campaign": choice.slug or "",
            "since": since,
            "until": until,
            **({"location": choice.location} if choice.location else {}),
        },
        "locations": choice.locations,
        "chosen_location": choice.location,
        "by_location": choice.by_location,
        "location_label": lambda place: place.label(settings),
        "counted": counted_text(results.counted_at, settings, bool(choice.location))
        if results
        else "",
        "tests": choice.tests,
        "metric_labels": METRIC_LABELS,
        "rate_cell": rate_cell,
        "difference_cell": difference_cell,
        "local_time": lambda moment: local_time(moment, settings),
    }
    return admin_page(
        request,
        user,
        "results/page.html",
        context,
        choice.status_code,
        section="results",
    )


@router.get("/results/export.csv")
def results_csv(user: ResultsUser, choice: Chosen) -> Response:
    """The funnel, per-step table and A/B variants as a CSV download: the page's numbers."""
    if choice.results is None:
        problems = choice.problems or {"campaign": "there are no campaigns yet"}
        text = "\n".join(
            f"{LABELS[name]} ({name}): {message}" for name, message in problems.items()
        )
        return PlainTextResponse(
            text + "\n", status_code=choice.status_code if choice.problems else 404
        )
    out = io.StringIO()
    write_results_csv(choice.results, out, choice.tests)
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="{csv_filename(choice.results)}"',
    }
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/results/recount")
def recount(
    request: Request,
    user: ResultsUser,
    session: SessionDep,
    clock: ClockDep,
    campaign: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    """Count the campaign's results again from the live tables, then show them as filtered."""
    back = "/admin/results?" + urlencode({"campaign": campaign, "since": since, "until": until})
    now = clock.now()
    try:
        recount_results(session, campaign.strip(), now)
    except UnknownCampaign:
        session.rollback()
        return redirect_with_notice(request, back, "Not recounted: no campaign has that name.")
    record_audit(session, actor(request, user), "results.recount", now, campaign.strip())
    session.commit()
    return redirect_with_notice(request, back, "Results recounted just now.")


def counted_text(
    counted_at: datetime | None, settings: Settings, one_location: bool = False
) -> str:
    """'Counted at 2 Nov 2026, 09:15 CST · recounted every 5 minutes', in the clinic's time."""
    if counted_at is None:
        why = (
            "one location's leads"
            if one_location
            else "the clinic's zone is not a whole hour off UTC"
        )
        return f"Counted just now from the live tables ({why})"
    return (
        f"Counted at {local_time(counted_at, settings)} · "
        f"recounted every {_every(settings.results_refresh_seconds)}"
    )


def local_time(moment: datetime, settings: Settings) -> str:
    """'2 Nov 2026, 09:15 CST': a stored moment in the clinic's time."""
    local = moment.astimezone(settings.clinic_zone)
    return f"{local.day} {local:%b %Y, %H:%M %Z}"


def _every(seconds: float) -> str:
    if seconds % 60:
        return f"{seconds:g} seconds"
    minutes = int(seconds // 60)
    return "minute" if minutes == 1 else f"{minutes} minutes"
