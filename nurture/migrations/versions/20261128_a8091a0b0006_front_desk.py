"""front desk: a booking's desk status, and staff calendar feed links

Revision ID: a8091a0b0006
Revises: b3c4d5e6f001
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "a8091a0b0006"
down_revision: str | None = "b3c4d5e6f001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("desk_status", sa.String(length=12), server_default="booked", nullable=False)
        )
        batch_op.add_column(
            sa.Column("desk_status_at", nurture.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_calendar_feeds_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("staff_user_id", name=op.f("uq_calendar_feeds_staff_user_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("desk_status_at")
        batch_op.drop_column("desk_status")
