"""results rollup: each campaign's counts by enrolment hour, and when they were counted

Revision ID: c0b1c2d3e008
Revises: b9a0b1c2d007
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "c0b1c2d3e008"
down_revision: str | None = "b9a0b1c2d007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _to_campaign(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["campaign_id"],
        ["campaigns.id"],
        name=op.f(f"fk_{table}_campaign_id_campaigns"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "results_funnel_rollup",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("enrolled_hour", nurture.db.UTCDateTime(timezone=True), nullable=False),
        *_counts("enrolled", "emailed", "opened", "clicked"),
        _to_campaign("results_funnel_rollup"),
        sa.PrimaryKeyConstraint(
            "campaign_id", "enrolled_hour", name=op.f("pk_results_funnel_rollup")
        ),
    )
    op.create_table(
        "results_step_rollup",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("enrolled_hour", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_key", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        *_counts(
            "sent",
            "delivered",
            "opened",
            "clicked",
            "replies",
            "unsubscribes",
            "bounces",
            "bookings",
        ),
        _to_campaign("results_step_rollup"),
        sa.PrimaryKeyConstraint(
            "campaign_id",
            "enrolled_hour",
            "step_key",
            "channel",
            name=op.f("pk_results_step_rollup"),
        ),
    )
    op.create_table(
        "results_refresh",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("counted_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        _to_campaign("results_refresh"),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_results_refresh")),
    )


def downgrade() -> None:
    op.drop_table("results_refresh")
    op.drop_table("results_step_rollup")
    op.drop_table("results_funnel_rollup")
