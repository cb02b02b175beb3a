"""inbox_items: kind (a reply, or a call-back a campaign step asks for) and its note

Revision ID: c2d3e4f5a020
Revises: b1c2d3e4f019
Create Date: 2026-12-02 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2d3e4f5a020"
down_revision: str | Sequence[str] | None = "b1c2d3e4f019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_items") as batch:
        # Every item before this column answered something the lead wrote.
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="reply"))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_items") as batch:
        batch.drop_column("note")
        batch.drop_column("kind")
