"""A/B variants: the variant each message was written from

Revision ID: a0b1c2d3e018
Revises: f9a0b1c2d017
Create Date: 2026-12-02 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db import UTCDateTime

revision: str = "a0b1c2d3e018"
down_revision: str | Sequence[str] | None = "f9a0b1c2d017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: messages written before, and steps without a test, have no variant.
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("variant", sa.String(length=80), nullable=True))
    op.create_table(
        "step_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("step_key", sa.String(length=80), nullable=False),
        sa.Column("variant", sa.String(length=80), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_step_promotions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_promotions")),
        sa.UniqueConstraint(
            "campaign_id", "step_key", name=op.f("uq_step_promotions_campaign_id_step_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("step_promotions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("variant")
