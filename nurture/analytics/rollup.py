"""The results rollup: count a campaign into hourly rows, and add up the rows of a period.

Counting 100,000 leads' ~1M messages and their events takes about 3 s; adding up the
stored hours takes milliseconds, so the Results page, its CSV export and `nurture
stats` read the rows and a beat task (workers.tasks.refresh_results) recounts every
few minutes. A period's ends must be whole UTC hours for its hours to add up to it
exactly: true of midnight in every zone with a whole-hour offset (all US zones);
nurture.analytics.funnel counts other periods live.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.analytics.models import ResultsFunnelRollup, ResultsRefresh, ResultsStepRollup
from nurture.analytics.period import Period
from nurture.analytics.promotion import promote_winners
from nurture.analytics.tally import (
    FUNNEL_COUNTS,
    STEP_COUNTS,
    StepTally,
    Tally,
    funnel_rows,
    step_rows,
)
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.db import upsert_insert

# Campaigns whose numbers still move: the beat task recounts these (and any never counted).
LIVELY = (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


def refresh_results(session: Session, campaign_id: int, now: datetime) -> None:
    """Recount the campaign from the live tables and replace its rollup rows, then promote
    any A/B test winner the numbers now show (caller commits)."""
    _lock(session, campaign_id, now)
    if session.get_bind().dialect.name == "postgresql":
        # The per-step count groups a million messages into ~100,000 hourly rows: with
        # the default 4 MB the hash spills to disk. Only this transaction gets more.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    everything = Period()
    for model, rows in (
        (ResultsFunnelRollup, funnel_rows(campaign_id, everything)),
        (ResultsStepRollup, step_rows(campaign_id, everything)),
    ):
        session.execute(delete(model).where(model.campaign_id == campaign_id))
        # Counted and written by the database in one statement: no row comes to Python.
        names = [column.name for column in rows.selected_columns]
        session.execute(
            insert(model).from_select(
                ["campaign_id", *names], select(literal(campaign_id), *rows.subquery().c)
            )
        )
    session.execute(
        update(ResultsRefresh)
        .where(ResultsRefresh.campaign_id == campaign_id)
        .values(counted_at=now)
    )
    # Every recount (beat's, "Recount now") is also when A/B tests are checked for a winner.
    promote_winners(session, campaign_id, now)


def _lock(session: Session, campaign_id: int, now: datetime) -> None:
    # Two recounts of one campaign at once (beat and "Recount now") would each delete,
    # then both insert the same keys: the second waits here for the first to commit.
    session.execute(
        upsert_insert(session)(ResultsRefresh)
        .values(campaign_id=campaign_id, counted_at=now)
        .on_conflict_do_nothing(index_elements=["campaign_id"])
    )
    session.execute(
        select(ResultsRefresh.campaign_id)
        .where(ResultsRefresh.campaign_id == campaign_id)
        .with_for_update()
    )


def counted_at(session: Session, campaign_id: int) -> datetime | None:
    """When the campaign's rollup was last counted (None: never)."""
    return session.scalar(
        select(ResultsRefresh.counted_at).where(ResultsRefresh.campaign_id == campaign_id)
    )


def read_rollup(session: Session, campaign_id: int, period: Period) -> Tally:
    """The stored hours of the leads enrolled in `period`, added up (ends on whole hours)."""
    found = Tally()
    funnel = _in_period(ResultsFunnelRollup, campaign_id, period)
    sums = session.execute(
        select(
            *(func.coalesce(func.sum(getattr(ResultsFunnelRollup, n)), 0) for n in FUNNEL_COUNTS)
        ).where(*funnel)
    ).one()
    for name, value in zip(FUNNEL_COUNTS, sums, strict=True):
        setattr(found, name, int(value))
    step = ResultsStepRollup
    rows = session.execute(
        select(step.step_key, step.channel, *(func.sum(getattr(step, n)) for n in STEP_COUNTS))
        .where(*_in_period(step, campaign_id, period))
        .group_by(step.step_key, step.channel)
    )
    for key, channel, *counts in rows:
        found.steps[key, channel] = StepTally(key, channel, *(int(c) for c in counts))
    return found


def _in_period(
    model: type[ResultsFunnelRollup] | type[ResultsStepRollup], campaign_id: int, period: Period
) -> list[ColumnElement[bool]]:
    conditions = [model.campaign_id == campaign_id]
    if (start := period.start()) is not None:
        conditions.append(model.enrolled_hour >= start)
    if (end := period.end()) is not None:
        conditions.append(model.enrolled_hour < end)
    return conditions


def campaigns_to_refresh(session: Session) -> list[int]:
    """Active and paused campaigns, and any never counted: the ones beat recounts."""
    query = (
        select(Campaign.id)
        .outerjoin(ResultsRefresh, ResultsRefresh.campaign_id == Campaign.id)
        .where(or_(Campaign.status.in_(LIVELY), ResultsRefresh.campaign_id.is_(None)))
        .order_by(Campaign.id)
    )
    return list(session.scalars(query))


def refresh_campaigns(
    factory: sessionmaker[Session], now: datetime, campaign_ids: Iterable[int] | None = None
) -> int:
    """Recount each campaign (default: campaigns_to_refresh) in its own transaction."""
    if campaign_ids is None:
        with factory() as session:
            campaign_ids = campaigns_to_refresh(session)
    count = 0
    for campaign_id in campaign_ids:
        with factory.begin() as session:
            refresh_results(session, campaign_id, now)
        count += 1
    return count
