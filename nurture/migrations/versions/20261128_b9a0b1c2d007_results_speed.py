"""results: find a campaign's messages by enrollment, find opt-outs and period cohorts fast

Revision ID: b9a0b1c2d007
Revises: e6f708090004
Create Date: 2026-11-28 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b9a0b1c2d007"
down_revision: str | None = "e6f708090004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_campaign_enrollment", "messages", ["campaign_id", "enrollment_id"])
    op.create_index("ix_consent_events_action_lead", "consent_events", ["action", "lead_id"])
    op.create_index(
        "ix_enrollments_campaign_enrolled",
        "enrollments",
        ["campaign_id", "enrolled_at"],
        postgresql_include=["id", "lead_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_campaign_enrolled", table_name="enrollments")
    op.drop_index("ix_consent_events_action_lead", table_name="consent_events")
    op.drop_index("ix_messages_campaign_enrollment", table_name="messages")
