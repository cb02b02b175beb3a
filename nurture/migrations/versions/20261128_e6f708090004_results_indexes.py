"""results: find bounce events without reading every provider event

Revision ID: e6f708090004
Revises: b3c4d5e6f001
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e6f708090004"
down_revision: str | None = "b3c4d5e6f001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_provider_events_type_message",
        "provider_events",
        ["event_type", "message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_provider_events_type_message", table_name="provider_events")
