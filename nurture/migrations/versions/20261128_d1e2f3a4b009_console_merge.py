"""console: join the staff console's parallel schema branches

Revision ID: d1e2f3a4b009
Revises: d5e6f7080003, f7080900a005, a8091a0b0006, c0b1c2d3e008
Create Date: 2026-11-28 18:00:00.000000
"""

from collections.abc import Sequence

revision: str = "d1e2f3a4b009"
down_revision: str | Sequence[str] | None = (
    "d5e6f7080003",  # lead search indexes
    "f7080900a005",  # lead import jobs
    "a8091a0b0006",  # front desk: booking desk status, calendar feeds
    "c0b1c2d3e008",  # results indexes and rollup
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
