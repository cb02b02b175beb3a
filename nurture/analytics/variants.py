"""A/B test results: each variant of a tested step, with its rates and their intervals.

Counted live for the steps with variants only (a few of a campaign's messages), for the
leads enrolled in the period, like the rest of the Results page. Over each variant's
messages sent (handed to the provider): opened and clicked (messages opened / clicked
at least once), replies and bookings (each lead's first, credited to the step's message
by nurture.analytics.attribution's rule, so credited to the variant that message was).
Every rate is over the variant's sent messages, with a Wilson 95% interval; each
variant after the first is compared with the first by a two-proportion z-test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.analytics.attribution import BOOKINGS, REPLIES, first_events_by_step
from nurture.analytics.cohort import enrolled_in
from nurture.analytics.message_counts import Scope
from nurture.analytics.period import Period
from nurture.analytics.proportions import (
    Comparison,
    p_value_text,
    two_proportion_test,
    wilson_interval,
)
from nurture.campaigns.lifecycle import find_campaign
from nurture.campaigns.models import Campaign, StepPromotion
from nurture.campaigns.spec import PromoteSpec, StepSpec
from nurture.campaigns.sync import load_version
from nurture.messages.models import Message

Metric = Literal["opens", "clicks", "replies", "bookings"]
METRICS: tuple[Metric, ...] = ("opens", "clicks", "replies", "bookings")
CONFIDENCE = 0.95  # the intervals the page shows


@dataclass(slots=True)
class VariantResult:
    """One variant's messages sent, and how many of them got each response."""

    key: str
    weight: int  # 0: a variant only an older version of the campaign had
    sent: int = 0
    opens: int = 0
    clicks: int = 0
    replies: int = 0
    bookings: int = 0

    def count(self, metric: Metric) -> int:
        value: int = getattr(self, metric)
        return value

    def rate(self, metric: Metric) -> float | None:
        """The metric over messages sent (None before any was sent)."""
        return self.count(metric) / self.sent if self.sent else None

    def interval(self, metric: Metric, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """The metric's Wilson interval over messages sent."""
        return wilson_interval(self.count(metric), self.sent, confidence)


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """When and why a step's test was decided, as stored."""

    variant: str
    metric: str
    reason: str
    decided_at: datetime


@dataclass(slots=True)
class StepTest:
    """A step's A/B test: its variants' results, its promotion rule and what it decided."""

    key: str
    channel: str
    promote: PromoteSpec | None
    variants: list[VariantResult] = field(default_factory=list)
    promotion: PromotionRecord | None = None

    def metrics(self) -> tuple[Metric, ...]:
        """The responses this step's channel reports: texts have no opens."""
        return METRICS if self.channel == "email" else METRICS[1:]

    @property
    def compared_on(self) -> Metric:
        """The metric the variants are compared on: the promotion rule's, else clicks."""
        return self.promote.metric if self.promote is not None else "clicks"

    def compared(self, variant: VariantResult, metric: Metric) -> Comparison | None:
        """`variant` against the first variant on `metric` (None for the first, or unsent)."""
        first = self.variants[0]
        if variant is first or not first.sent or not variant.sent:
            return None
        return two_proportion_test(
            first.count(metric), first.sent, variant.count(metric), variant.sent
        )


def tested_steps(steps: list[StepSpec]) -> list[StepSpec]:
    return [step for step in steps if step.variants]


def step_tests(
    session: Session, campaign: Campaign, period: Period | None = None, *, credits: bool = True
) -> list[StepTest]:
    """Every tested step of the campaign's current version, with its variants' results.

    Without `credits`, replies and bookings are left at zero and not counted (the
    attribution is the costly part; a check on clicks or opens does not need it)."""
    if campaign.current_version_id is None:
        return []
    steps = tested_steps(load_version(session, campaign.current_version_id).spec.steps)
    if not steps:
        return []
    tests = {
        step.key: StepTest(
            step.key,
            step.channel.value,
            step.promote,
            [VariantResult(variant.key, variant.weight) for variant in step.variants],
        )
        for step in steps
    }
    counted = _counts(session, campaign.id, period or Period(), tests, credits)
    for key, variant, name, count in counted:
        test = tests[key]
        row = next((v for v in test.variants if v.key == variant), None)
        if row is None:  # a variant the step no longer has: shown after the current ones
            row = VariantResult(variant, 0)
            test.variants.append(row)
        setattr(row, name, getattr(row, name) + int(count))
    for promotion in session.scalars(
        select(StepPromotion).where(StepPromotion.campaign_id == campaign.id)
    ):
        if promotion.step_key in tests:
            tests[promotion.step_key].promotion = PromotionRecord(
                promotion.variant, promotion.metric, promotion.reason, promotion.decided_at
            )
    return list(tests.values())


def campaign_tests(session: Session, slug: str, period: Period) -> list[StepTest]:
    """The A/B tests of campaign `slug` for the leads enrolled in `period`."""
    return step_tests(session, find_campaign(session, slug), period)


def _counts(
    session: Session, campaign_id: int, period: Period, tests: dict[str, StepTest], credits: bool
) -> list[tuple[str, str, str, int]]:
    """(step key, variant, metric, count) for the tested steps' messages."""
    cohort = enrolled_in(campaign_id, period)
    keys = list(tests)
    found: list[tuple[str, str, str, int]] = []
    sent = Scope(campaign_id, cohort).messages(
        select(
            Message.step_key,
            Message.variant,
            func.count(Message.sent_at),
            func.count(Message.sent_at).filter(Message.opens > 0),
            func.count(Message.sent_at).filter(Message.clicks > 0),
        )
        .where(Message.step_key.in_(keys), Message.variant.is_not(None))
        .group_by(Message.step_key, Message.variant)
    )
    for key, maybe_variant, sent_count, opened, clicked in session.execute(sent):
        variant = str(maybe_variant)  # never NULL: the query asks for variants only
        found += [
            (key, variant, "sent", sent_count),
            (key, variant, "opens", opened),
            (key, variant, "clicks", clicked),
        ]
    for source in (REPLIES, BOOKINGS) if credits else ():
        credited = first_events_by_step(source, campaign_id, cohort, by_variant=True).subquery()
        total = func.sum(credited.c[source.counted_as])
        rows = session.execute(
            select(credited.c.step_key, credited.c.variant, total)
            .where(credited.c.step_key.in_(keys), credited.c.variant.is_not(None))
            .group_by(credited.c.step_key, credited.c.variant)
        )
        found += [(key, variant, source.counted_as, count) for key, variant, count in rows]
    return found


METRIC_LABELS: dict[Metric, str] = {
    "opens": "Opened",
    "clicks": "Clicked",
    "replies": "Replies",
    "bookings": "Bookings",
}


def rate_cell(variant: VariantResult, metric: Metric) -> str:
    """'12 · 8.0% (4.6–13.5%)': the count, its rate over sent and the 95% interval."""
    rate = variant.rate(metric)
    if rate is None:
        return f"{variant.count(metric)} · n/a"
    low, high = variant.interval(metric)
    return f"{variant.count(metric)} · {rate:.1%} ({low:.1%}–{high:.1%})"


def difference_cell(test: StepTest, variant: VariantResult, metric: Metric) -> str:
    """How `variant` compares with the first variant on `metric`: '+2.1 pts, p = 0.030'."""
    compared = test.compared(variant, metric)
    if compared is None:
        return "baseline" if variant is test.variants[0] else "n/a"
    return f"{compared.difference * 100:+.1f} pts, {p_value_text(compared.p_value)}"
