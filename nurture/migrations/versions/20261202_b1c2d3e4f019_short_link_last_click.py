"""short_links: when each link was last followed (a lead who clicked lately is engaged)

Revision ID: b1c2d3e4f019
Revises: a0b1c2d3e018
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.db import UTCDateTime

revision: str = "b1c2d3e4f019"
down_revision: str | Sequence[str] | None = "a0b1c2d3e018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.add_column(sa.Column("last_clicked_at", UTCDateTime(timezone=True), nullable=True))
    # Links followed before this column: their first click is the last one known.
    op.execute("UPDATE short_links SET last_clicked_at = first_clicked_at")


def downgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.drop_column("last_clicked_at")
