"""Bar charts of the results, laid out here and drawn as inline SVG by the page template.

Only geometry and words are decided here; the template writes the SVG elements, so
Jinja escapes every label (a campaign name may contain anything). Bars are
horizontal: long step names read left to right, and each bar carries its number.
"""

from __future__ import annotations

from dataclasses import dataclass

from nurture.analytics.funnel import CampaignResults
from nurture.analytics.report import percent
from nurture.channel import Channel

WIDTH = 680
LABEL_WIDTH = 190  # room for the longest step key at 12px
VALUE_ROOM = 110  # right of the longest bar, for "1,234 (100.0%)"
BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_ROOM
TOP = 8
GROUP_GAP = 12
LEGEND_HEIGHT = 22


@dataclass(frozen=True, slots=True)
class Bar:
    series: str  # a CSS class: enrolled, sent, opened, ...
    value: int
    text: str  # printed after the bar
    description: str  # the bar's <title>, read out by screen readers
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Group:
    label: str  # printed left of the bars
    y: float  # baseline of the label
    bars: list[Bar]


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    summary: str  # the whole chart in one sentence, for aria-label and <desc>
    height: float
    groups: list[Group]
    legend: list[str]  # series shown, in order; empty when each group has one bar
    width: int = WIDTH
    bar_x: int = LABEL_WIDTH

    @property
    def empty(self) -> bool:
        return not self.groups


def _scaled(value: int, largest: int) -> float:
    if value <= 0 or largest <= 0:
        return 0.0
    return max(1.0, BAR_AREA * value / largest)  # a 1 among thousands still shows


def funnel_chart(results: CampaignResults) -> Chart:
    """One bar per funnel stage, scaled to the leads enrolled, with count and percentage."""
    bar_height, gap = 26.0, 10.0
    largest = max((stage.leads for stage in results.funnel), default=0)
    groups = []
    for index, stage in enumerate(results.funnel):
        y = TOP + index * (bar_height + gap)
        share = percent(stage.share)
        bar = Bar(
            series=stage.key,
            value=stage.leads,
            text=f"{stage.leads:,} ({share})",
            description=f"{stage.label}: {stage.leads:,} leads, {share} of enrolled",
            y=y,
            width=_scaled(stage.leads, largest),
            height=bar_height,
        )
        groups.append(Group(stage.label, y + bar_height / 2 + 4, [bar]))
    summary = f"Funnel for {results.name}, {results.period.describe()}: " + "; ".join(
        f"{stage.label.lower()} {stage.leads:,}" for stage in results.funnel
    )
    height = TOP * 2 + len(groups) * (bar_height + gap)
    return Chart("Funnel", summary, height, groups, legend=[])


def step_chart(results: CampaignResults) -> Chart:
    """Per step that has gone out: messages sent, and for emails opened and clicked."""
    bar_height, gap = 11.0, 2.0
    sent_steps = [step for step in results.steps if step.sent]
    largest = max((step.sent for step in sent_steps), default=0)
    groups, y = [], float(TOP + LEGEND_HEIGHT)
    for step in sent_steps:
        series = [("sent", step.sent)]
        if step.channel == Channel.EMAIL:
            series += [("opened", step.opened), ("clicked", step.clicked)]
        bars = []
        for index, (name, value) in enumerate(series):
            bar_y = y + index * (bar_height + gap)
            bars.append(
                Bar(
                    series=name,
                    value=value,
                    text=f"{value:,}",
                    description=f"{step.key}: {value:,} {name}",
                    y=bar_y,
                    width=_scaled(value, largest),
                    height=bar_height,
                )
            )
        block = len(series) * (bar_height + gap)
        groups.append(Group(f"{step.key} ({step.channel})", y + block / 2 + 2, bars))
        y += block + GROUP_GAP
    summary = f"Messages sent, opened and clicked per step, {results.period.describe()}: " + (
        "; ".join(
            f"{step.key} sent {step.sent:,}"
            + (
                f", opened {step.opened:,}, clicked {step.clicked:,}"
                if step.channel == Channel.EMAIL
                else ""
            )
            for step in sent_steps
        )
        or "nothing sent yet"
    )
    return Chart("Per step", summary, y + TOP, groups, legend=["sent", "opened", "clicked"])
