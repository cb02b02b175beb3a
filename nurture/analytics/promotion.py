"""Ending an A/B test by itself: promote the winner once the numbers say so.

A step's `promote` rule names a metric, a minimum sample and a confidence. The check
(run after each results recount, nurture.analytics.rollup.refresh_campaigns) promotes
a variant only when every variant of the step has at least `min_sample` messages sent
and the best rate beats each other variant's by a two-proportion z-test at that
confidence. Comparing against every other variant, not only the runner-up, keeps a
three-way test from being decided by a fluke of the last place. The decision is a
row (campaign, step) that the dispatcher reads: from then on new messages of the step
are written from the winner. It is recorded once, with its reason, and never undone
by the check (staff who want a new test give the step new variants or a new key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.analytics.period import Period
from nurture.analytics.proportions import p_value_text, two_proportion_test
from nurture.analytics.variants import Metric, StepTest, VariantResult, step_tests
from nurture.campaigns.models import Campaign, StepPromotion
from nurture.campaigns.spec import PromoteSpec
from nurture.campaigns.sync import load_version
from nurture.staff.service import Actor, record_audit

ACTOR = Actor("system:ab-test")


@dataclass(frozen=True, slots=True)
class Decision:
    variant: str
    reason: str


def _pct(value: float) -> str:
    return f"{value:.1%}"


def decide(variants: list[VariantResult], rule: PromoteSpec) -> Decision | None:
    """The winner under `rule`, with the reason; None while the test cannot say yet."""
    current = [v for v in variants if v.weight > 0]
    if len(current) < 2 or any(v.sent < rule.min_sample for v in current):
        return None
    metric: Metric = rule.metric
    ranked = sorted(current, key=lambda v: v.count(metric) / v.sent, reverse=True)
    best, others = ranked[0], ranked[1:]
    comparisons = [
        (other, two_proportion_test(other.count(metric), other.sent, best.count(metric), best.sent))
        for other in others
    ]
    if any(c.difference <= 0 or not c.significant(rule.confidence) for _, c in comparisons):
        return None
    # The closest rival is the one the reason names: the comparison that had to hold.
    rival, test = max(comparisons, key=lambda pair: pair[1].p_value)
    reason = (
        f"{best.key} had the highest {metric} rate, {_pct(best.count(metric) / best.sent)} "
        f"of {best.sent} sent, against {rival.key}'s {_pct(rival.count(metric) / rival.sent)} "
        f"of {rival.sent} (two-proportion z = {test.z:.2f}, {p_value_text(test.p_value)}, "
        f"needed below {1 - rule.confidence:.2g}), with at least {rule.min_sample} sent to "
        "every variant"
    )
    return Decision(best.key, reason)


def promote_winners(session: Session, campaign_id: int, now: datetime) -> list[StepPromotion]:
    """Decide every ripe test of the campaign; the promotions made now (the caller commits)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.current_version_id is None:
        return []
    decided = set(
        session.scalars(
            select(StepPromotion.step_key).where(StepPromotion.campaign_id == campaign_id)
        )
    )
    steps = load_version(session, campaign.current_version_id).spec.steps
    rules = [s.promote for s in steps if s.promote is not None and s.key not in decided]
    if not rules:
        return []  # most recounts: nothing to decide, and nothing more to count
    made: list[StepPromotion] = []
    # Every lead ever enrolled counts: the rule is about the test, not a reporting period.
    credits = any(rule.metric == "bookings" for rule in rules)
    for test in step_tests(session, campaign, Period(), credits=credits):
        if test.promote is None or test.key in decided:
            continue
        decision = decide(test.variants, test.promote)
        if decision is not None:
            made.append(_record(session, campaign, test, test.promote, decision, now))
    return made


def _record(
    session: Session,
    campaign: Campaign,
    test: StepTest,
    rule: PromoteSpec,
    decision: Decision,
    now: datetime,
) -> StepPromotion:
    promotion = StepPromotion(
        campaign_id=campaign.id,
        step_key=test.key,
        variant=decision.variant,
        metric=rule.metric,
        reason=decision.reason[:500],
        decided_at=now,
    )
    session.add(promotion)
    record_audit(
        session,
        ACTOR,
        "campaign.variant_promoted",
        now,
        f"{campaign.slug}/{test.key}",
        {"variant": decision.variant, "metric": rule.metric, "reason": decision.reason},
    )
    session.flush()
    return promotion
