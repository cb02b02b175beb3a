"""indexes for the staff console's lead list and filters

Revision ID: d5e6f7080003
Revises: b3c4d5e6f001
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d5e6f7080003"
down_revision: str | None = "b3c4d5e6f001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_leads_created_at_id", "leads", ["created_at", "id"])
    op.create_index(
        "ix_enrollments_campaign_status", "enrollments", ["campaign_id", "status", "lead_id"]
    )
    op.create_index("ix_enrollments_status_lead", "enrollments", ["status", "lead_id"])


def downgrade() -> None:
    op.drop_index("ix_enrollments_status_lead", table_name="enrollments")
    op.drop_index("ix_enrollments_campaign_status", table_name="enrollments")
    op.drop_index("ix_leads_created_at_id", table_name="leads")
