"""A campaign's counts by enrolment hour: the one place every Results number is counted.

The live numbers for a period (nurture.analytics.funnel.live_results) add up the
hours of its cohort; the rollup (nurture.analytics.rollup) stores every hour and adds
up the stored rows. Both come from `count_by_hour`, so they cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from nurture.analytics.attribution import BOOKINGS, OPT_OUTS, REPLIES, first_events_by_step
from nurture.analytics.cohort import enrolled_in
from nurture.analytics.message_counts import Scope, bounces_by_step, lead_engagement, step_counts
from nurture.analytics.period import Period

# The step key (and channel) of replies, opt-outs and bookings no step could take the
# credit for: they came before any step that could.
NOT_CREDITED = ""


@dataclass(slots=True)
class StepTally:
    """One (step, channel)'s messages and the lead events credited to it."""

    key: str
    channel: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    replies: int = 0
    unsubscribes: int = 0
    bounces: int = 0
    bookings: int = 0


STEP_COUNTS = tuple(f.name for f in fields(StepTally) if f.name not in ("key", "channel"))
FUNNEL_COUNTS = ("enrolled", "emailed", "opened", "clicked")
ZERO: ColumnElement[int] = literal_column("0")
# The lead events credited to a step (each lead's first one).
CREDITED = (REPLIES, OPT_OUTS, BOOKINGS)


@dataclass(slots=True)
class Tally:
    """Counts for the leads of one enrolment hour, or of several hours added together.

    The funnel's replied and booked stages are the credited replies and bookings
    summed over every step, so they are not kept twice.
    """

    enrolled: int = 0
    emailed: int = 0
    opened: int = 0
    clicked: int = 0
    steps: dict[tuple[str, str], StepTally] = field(default_factory=dict)

    def step(self, key: str, channel: str) -> StepTally:
        """The (step, channel) row, created empty on first use."""
        found = self.steps.get((key, channel))
        if found is None:
            found = self.steps[key, channel] = StepTally(key, channel)
        return found

    def add(self, other: Tally) -> None:
        """Add `other`'s counts to these (for hours of one campaign)."""
        for name in FUNNEL_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for row in other.steps.values():
            mine = self.step(row.key, row.channel)
            for name in STEP_COUNTS:
                setattr(mine, name, getattr(mine, name) + getattr(row, name))


def step_rows(campaign_id: int, period: Period) -> Select[Any]:
    """One row per (enrolled_hour, step_key, channel) with every StepTally count."""
    cohort = enrolled_in(campaign_id, period)
    scope = Scope(campaign_id, cohort)
    parts = [step_counts(scope), bounces_by_step(scope)]
    parts.extend(first_events_by_step(source, campaign_id, cohort) for source in CREDITED)
    shaped = []
    for part in parts:
        found = part.subquery()
        shaped.append(
            select(
                found.c.enrolled_hour,
                # Replies, opt-outs and bookings no step took the credit for have no step.
                func.coalesce(found.c.step_key, NOT_CREDITED).label("step_key"),
                # Plain text, not the Channel column's type: NOT_CREDITED is no channel.
                func.coalesce(found.c.channel, NOT_CREDITED, type_=String).label("channel"),
                *_padded(found, STEP_COUNTS),
            )
        )
    return _summed(union_all(*shaped).subquery("step_parts"), ("step_key", "channel"), STEP_COUNTS)


def funnel_rows(campaign_id: int, period: Period) -> Select[Any]:
    """One row per enrolled_hour: leads enrolled, emailed, opened and clicked."""
    cohort = enrolled_in(campaign_id, period)
    enrolled = select(cohort.c.enrolled_hour, func.count().label("enrolled")).group_by(
        cohort.c.enrolled_hour
    )
    shaped = []
    for part in (enrolled, lead_engagement(Scope(campaign_id, cohort))):
        found = part.subquery()
        shaped.append(select(found.c.enrolled_hour, *_padded(found, FUNNEL_COUNTS)))
    return _summed(union_all(*shaped).subquery("funnel_parts"), (), FUNNEL_COUNTS)


def _padded(part: Subquery, names: tuple[str, ...]) -> list[ColumnElement[int]]:
    # Each part of a union counts some columns: the others are zeros.
    return [part.c.get(name, ZERO).label(name) for name in names]


def _summed(rows: Subquery, keys: tuple[str, ...], names: tuple[str, ...]) -> Select[Any]:
    grouped = [rows.c.enrolled_hour, *(rows.c[key] for key in keys)]
    return select(*grouped, *(func.sum(rows.c[name]).label(name) for name in names)).group_by(
        *grouped
    )


def count_by_hour(session: Session, campaign_id: int, period: Period) -> dict[datetime, Tally]:
    """The campaign's counts for the leads enrolled in `period`, by UTC enrolment hour."""
    hours: defaultdict[datetime, Tally] = defaultdict(Tally)
    for at, *counts in session.execute(funnel_rows(campaign_id, period)):
        for name, value in zip(FUNNEL_COUNTS, counts, strict=True):
            setattr(hours[at], name, int(value))
    for at, key, channel, *counts in session.execute(step_rows(campaign_id, period)):
        hours[at].steps[key, channel] = StepTally(key, channel, *(int(c) for c in counts))
    return dict(hours)


def total(tallies: list[Tally]) -> Tally:
    """The tallies added together."""
    summed = Tally()
    for tally in tallies:
        summed.add(tally)
    return summed
