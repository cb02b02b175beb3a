"""The results rollup: a campaign's counts by enrolment hour, as last counted.

Written only by nurture.analytics.rollup.refresh_results (the beat task, "Recount
now", `nurture stats`), which replaces a campaign's rows in one transaction; read by
the Results page, its CSV export and `nurture stats`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base


class ResultsFunnelRollup(Base):
    """Leads enrolled in one UTC hour, and how many of them were emailed, opened, clicked."""

    __tablename__ = "results_funnel_rollup"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    enrolled_hour: Mapped[datetime] = mapped_column(primary_key=True)
    enrolled: Mapped[int]
    emailed: Mapped[int]
    opened: Mapped[int]
    clicked: Mapped[int]


class ResultsStepRollup(Base):
    """One (step, channel)'s numbers for the leads enrolled in one UTC hour.

    Step key and channel are "" for replies, opt-outs and bookings no step got credit for.
    """

    __tablename__ = "results_step_rollup"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    enrolled_hour: Mapped[datetime] = mapped_column(primary_key=True)
    step_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    sent: Mapped[int]
    delivered: Mapped[int]
    opened: Mapped[int]
    clicked: Mapped[int]
    replies: Mapped[int]
    unsubscribes: Mapped[int]
    bounces: Mapped[int]
    bookings: Mapped[int]


class ResultsRefresh(Base):
    """When a campaign's rollup was last counted; its row is locked while recounting."""

    __tablename__ = "results_refresh"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    counted_at: Mapped[datetime]
