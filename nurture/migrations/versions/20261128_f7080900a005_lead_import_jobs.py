"""lead import jobs and the rows they skipped

Revision ID: f7080900a005
Revises: b3c4d5e6f001
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "f7080900a005"
down_revision: str | None = "b3c4d5e6f001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=80), nullable=False),
        sa.Column("campaign_slug", sa.String(length=80), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("actor_ip", sa.String(length=45), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("already_enrolled", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("new_leads", sa.Integer(), nullable=False),
        sa.Column("failure", sa.String(length=300), nullable=True),
        sa.Column("created_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", nurture.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_import_jobs")),
        sa.UniqueConstraint("public_id", name=op.f("uq_lead_import_jobs_public_id")),
    )
    op.create_table(
        "lead_import_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["lead_import_jobs.id"],
            name=op.f("fk_lead_import_errors_job_id_lead_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_import_errors")),
    )
    with op.batch_alter_table("lead_import_errors", schema=None) as batch_op:
        batch_op.create_index("ix_lead_import_errors_job_row", ["job_id", "row"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_import_errors", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_import_errors_job_row")
    op.drop_table("lead_import_errors")
    op.drop_table("lead_import_jobs")
