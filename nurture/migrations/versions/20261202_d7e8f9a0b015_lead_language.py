"""leads: the language Nurture writes to each lead in (English for everyone before)

Revision ID: d7e8f9a0b015
Revises: c6d7e8f9a014
Create Date: 2026-12-02 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7e8f9a0b015"
down_revision: str | Sequence[str] | None = "c6d7e8f9a014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("language")
