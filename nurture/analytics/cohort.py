"""The leads a campaign's results count, each with the UTC hour it enrolled in.

Every count on the Results page adds up over enrolment hours (a lead enrols once per
campaign), so counting by hour gives both the live numbers for a period and the
rows the rollup keeps (nurture.analytics.rollup).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from nurture.analytics.period import Period
from nurture.db import UTCDateTime
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment


class hour_of(FunctionElement[datetime]):  # a SQL function, named like one
    """The UTC hour a stored moment falls in (minutes and seconds dropped)."""

    type = UTCDateTime()
    name = "hour_of"
    inherit_cache = True


@compiles(hour_of, "postgresql")
def _hour_of_postgresql(element: hour_of, compiler: SQLCompiler, **kw: Any) -> str:
    # date_trunc on a timestamptz truncates in the session's zone: truncate the UTC wall
    # time, then make it a timestamptz again, so the rollup stores the instant exactly.
    moment = compiler.process(element.clauses, **kw)
    return f"(date_trunc('hour', ({moment}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


@compiles(hour_of, "sqlite")
def _hour_of_sqlite(element: hour_of, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC moments as text; this is the text SQLAlchemy writes for one.
    moment = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H:00:00.000000', {moment})"


def enrolled_in(campaign_id: int, period: Period) -> Subquery:
    """The campaign's enrollments in the period: id, lead_id, enrolled_at, enrolled_hour."""
    conditions: list[ColumnElement[bool]] = [Enrollment.campaign_id == campaign_id]
    if (start := period.start()) is not None:
        conditions.append(Enrollment.enrolled_at >= start)
    if (end := period.end()) is not None:
        conditions.append(Enrollment.enrolled_at < end)
    if period.location_id is not None:
        at_location = select(Lead.id).where(Lead.location_id == period.location_id)
        conditions.append(Enrollment.lead_id.in_(at_location))
    return (
        select(
            Enrollment.id,
            Enrollment.lead_id,
            Enrollment.enrolled_at,
            hour_of(Enrollment.enrolled_at).label("enrolled_hour"),
        )
        .where(*conditions)
        .subquery("cohort")
    )
