"""A campaign's results: the funnel of leads and each step's numbers, for one enrolment period.

The console's Results page, its CSV export and `nurture stats` all read this module,
so they show the same numbers. Everything counts the leads *enrolled* in the period
(nurture.analytics.period), and what happened to them afterwards, however late.
The counting itself is nurture.analytics.tally's; the numbers shown are the rollup's,
as last counted (nurture.analytics.rollup), so the page reads a few stored rows.

The funnel, in distinct leads (each stage counted on its own, so a lead who booked
by text without opening an email still counts as booked):
  enrolled  enrolled in the campaign in the period;
  emailed   at least one of the campaign's emails was handed to the provider;
  opened    the provider reported an open of one of those emails;
  clicked   followed a link in one of the campaign's emails or texts (its short link
            counted the click, nurture.messages.short_links: once however often, and
            never for a link preview);
  replied   sent us a text or email after enrolling (an opt-out keyword such as
            STOP is counted as an unsubscribe, not a reply);
  booked    booked a screening after enrolling (counted when made, even if cancelled later).

Per step, over the step's messages: sent (accepted by the provider), delivered (the
provider confirmed delivery and no bounce came later), opened and clicked (messages
opened / clicked at least once; a text is clicked as an email is), bounces (messages
with a SendGrid bounce event). Open rate is over delivered emails, click rate over
delivered emails and texts.

Attribution (replies, unsubscribes, bookings): each lead's first such event is
attributed to the last step of this campaign sent to the lead before it. A booking
goes to the last step on either channel; a reply or an opt-out goes to the last step
on its own channel (a STOP answers a text, an unsubscribe link sits in an email).
An event before any such step is counted as "not attributed", so each column sums
to the funnel's total.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nurture.analytics.period import Period
from nurture.analytics.rollup import counted_at, read_rollup, refresh_results
from nurture.analytics.tally import (
    NOT_CREDITED,
    STEP_COUNTS,
    StepTally,
    Tally,
    count_by_hour,
    total,
)
from nurture.campaigns.lifecycle import UnknownCampaign as UnknownCampaign  # raised here
from nurture.campaigns.lifecycle import find_campaign
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.clock import utcnow
from nurture.sequences.models import Enrollment

NOT_ATTRIBUTED = "(not attributed)"
STAGES: tuple[tuple[str, str], ...] = (
    ("enrolled", "Enrolled"),
    ("emailed", "Emailed"),
    ("opened", "Opened"),
    ("clicked", "Clicked"),
    ("replied", "Replied"),
    ("booked", "Booked"),
)


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    label: str
    leads: int
    enrolled: int

    @property
    def share(self) -> float | None:
        """The stage's leads as a fraction of those enrolled (None when nobody enrolled)."""
        return self.leads / self.enrolled if self.enrolled else None


@dataclass(slots=True)
class StepResult(StepTally):
    """A step's tally as the page shows it, with the rates."""

    # Deliveries the rates are over: opens over emails, clicks over emails and texts
    # (a text's links are the product's short links, which count their clicks).
    email_delivered: int = 0
    text_delivered: int = 0

    @property
    def open_rate(self) -> float | None:
        """Opened over delivered emails (None without delivered emails)."""
        return self.opened / self.email_delivered if self.email_delivered else None

    @property
    def click_rate(self) -> float | None:
        """Clicked over delivered emails and texts (None when none was delivered)."""
        delivered = self.email_delivered + self.text_delivered
        return self.clicked / delivered if delivered else None


COUNTS = tuple(f.name for f in fields(StepResult) if f.name not in ("key", "channel"))


@dataclass(slots=True)
class CampaignResults:
    slug: str
    name: str
    status: str
    period: Period
    counted_at: datetime | None = None  # when the rollup was counted; None: counted live
    funnel: list[Stage] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    # Replies, opt-outs and bookings that came before any step that could take the credit.
    not_attributed: StepResult = field(default_factory=lambda: StepResult(NOT_ATTRIBUTED, ""))

    def stage(self, key: str) -> Stage:
        """The funnel stage `key` (one of STAGES)."""
        return next(stage for stage in self.funnel if stage.key == key)

    def rows(self) -> list[StepResult]:
        """The steps, then the not-attributed row when it holds anything."""
        extra = self.not_attributed
        return [*self.steps, *([extra] if any(getattr(extra, n) for n in COUNTS) else [])]

    def totals(self) -> StepResult:
        """Every column summed over all rows; the rates are over all delivered emails."""
        total = StepResult("All steps", "")
        for row in self.rows():
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def campaign_choices(session: Session) -> list[Campaign]:
    """Campaigns to pick from: active ones first, the most enrolled first among them (so
    the page opens on the article's own series, not a follow-up nobody reached yet), then
    by slug."""
    active_first = case((Campaign.status == CampaignStatus.ACTIVE, 0), else_=1)
    enrolled = (
        select(func.count())
        .where(Enrollment.campaign_id == Campaign.id)
        .correlate(Campaign)
        .scalar_subquery()
    )
    query = select(Campaign).order_by(active_first, enrolled.desc(), Campaign.slug)
    return list(session.scalars(query))


def campaign_results(
    session: Session, slug: str, period: Period, *, now: datetime | None = None
) -> CampaignResults:
    """Campaign `slug`'s results as last counted (counted at `now` if never), or UnknownCampaign.

    They come from the rollup (nurture.analytics.rollup); a period whose ends are not
    whole UTC hours (a clinic in a half-hour zone), or one location's, is counted live.
    """
    campaign = find_campaign(session, slug)
    if not period.rolled_up():
        return _live(session, campaign, period)
    counted = counted_at(session, campaign.id)
    if counted is None:
        counted = now or utcnow()
        refresh_results(session, campaign.id, counted)
    return _results(session, campaign, period, read_rollup(session, campaign.id, period), counted)


def recount_results(session: Session, slug: str, now: datetime) -> None:
    """Recount campaign `slug` from the live tables, or UnknownCampaign (the caller commits)."""
    refresh_results(session, find_campaign(session, slug).id, now)


def live_results(session: Session, slug: str, period: Period) -> CampaignResults:
    """The results of campaign `slug` counted from the live tables now (no rollup)."""
    return _live(session, find_campaign(session, slug), period)


def _live(session: Session, campaign: Campaign, period: Period) -> CampaignResults:
    tally = total(list(count_by_hour(session, campaign.id, period).values()))
    return _results(session, campaign, period, tally, None)


def _results(
    session: Session,
    campaign: Campaign,
    period: Period,
    tally: Tally,
    counted: datetime | None,
) -> CampaignResults:
    results = CampaignResults(campaign.slug, campaign.name, campaign.status, period, counted)
    steps = _steps(session, campaign)
    # Sorted, so steps only an older version had come after the current ones, by key.
    for (key, channel), tallied in sorted(tally.steps.items()):
        if key == NOT_CREDITED:
            row = results.not_attributed
        else:
            row = steps.setdefault(key, StepResult(key, channel))
        for name in STEP_COUNTS:
            setattr(row, name, getattr(row, name) + getattr(tallied, name))
        if channel == Channel.EMAIL:
            row.email_delivered += tallied.delivered
        elif channel == Channel.SMS:
            row.text_delivered += tallied.delivered
    results.steps = list(steps.values())
    counts = {
        "enrolled": tally.enrolled,
        "emailed": tally.emailed,
        "opened": tally.opened,
        "clicked": tally.clicked,
        "replied": sum(row.replies for row in tally.steps.values()),
        "booked": sum(row.bookings for row in tally.steps.values()),
    }
    results.funnel = [Stage(key, label, counts[key], tally.enrolled) for key, label in STAGES]
    return results


def _steps(session: Session, campaign: Campaign) -> dict[str, StepResult]:
    """The current version's steps in order, so steps nobody reached yet show zeros."""
    if campaign.current_version_id is None:
        return {}
    spec = load_version(session, campaign.current_version_id).spec
    return {step.key: StepResult(step.key, step.medium) for step in spec.steps}
