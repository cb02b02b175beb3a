"""short_links: the product's own short links in texts, with their clicks

Revision ID: c6d7e8f9a014
Revises: b5c6d7e8f013
Create Date: 2026-12-02 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db import UTCDateTime

revision: str = "c6d7e8f9a014"
down_revision: str | Sequence[str] | None = "b5c6d7e8f013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_clicked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_short_links_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_short_links")),
    )
    op.create_index(op.f("ix_short_links_message_id"), "short_links", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_short_links_message_id"), table_name="short_links")
    op.drop_table("short_links")
