"""The results as rows of text: one formatting for the page, the CSV and `nurture stats`.

Every surface prints these cells, so a number or a rate cannot read differently in
two places.
"""

from __future__ import annotations

from nurture.analytics.funnel import CampaignResults, Stage, StepResult
from nurture.channel import Channel

NOT_APPLICABLE = "n/a"
FUNNEL_HEADERS = ("Stage", "Leads", "% of enrolled")
STEP_HEADERS = (
    "Step",
    "Channel",
    "Sent",
    "Delivered",
    "Opened",
    "Open rate",
    "Clicked",
    "Click rate",
    "Replies",
    "Unsubscribes",
    "Bounces",
    "Bookings",
)
# Texts have no opens or bounces to report: "n/a", not a misleading zero. Their clicks
# are counted by their short links.
EMAIL_ONLY = frozenset({"Opened", "Open rate", "Bounces"})


def percent(fraction: float | None) -> str:
    """'33.3%', or 'n/a' when there is nothing to divide by."""
    return NOT_APPLICABLE if fraction is None else f"{fraction * 100:.1f}%"


def funnel_cells(stage: Stage) -> list[str]:
    """One funnel row: stage, leads, share of enrolled."""
    return [stage.label, str(stage.leads), percent(stage.share)]


def step_cells(row: StepResult) -> list[str]:
    """One per-step row, in STEP_HEADERS order."""
    cells = [
        row.key,
        row.channel,
        str(row.sent),
        str(row.delivered),
        str(row.opened),
        percent(row.open_rate),
        str(row.clicked),
        percent(row.click_rate),
        str(row.replies),
        str(row.unsubscribes),
        str(row.bounces),
        str(row.bookings),
    ]
    if row.channel == Channel.SMS:
        cells = [
            NOT_APPLICABLE if header in EMAIL_ONLY else cell
            for header, cell in zip(STEP_HEADERS, cells, strict=True)
        ]
    return cells


def step_rows(results: CampaignResults) -> list[list[str]]:
    """The per-step rows, the not-attributed row when there is one, then the totals."""
    return [step_cells(row) for row in [*results.rows(), results.totals()]]
