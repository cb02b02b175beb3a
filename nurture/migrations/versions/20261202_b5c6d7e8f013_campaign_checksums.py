"""campaigns: checksums that leave out fields at their defaults, recomputed for stored versions

A stored version's checksum decides whether `nurture campaigns sync` sees a change.
Counting only the fields a campaign sets means a new optional field (double opt-in,
branches, languages) never turns an unchanged campaign into a new version.

Revision ID: b5c6d7e8f013
Revises: a4b5c6d7e012
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nurture.campaigns.definition import CampaignDefinition

revision: str = "b5c6d7e8f013"
down_revision: str | Sequence[str] | None = "a4b5c6d7e012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

versions = sa.table(
    "campaign_versions",
    sa.column("id", sa.Integer),
    sa.column("checksum", sa.String),
    sa.column("definition", sa.JSON),
)


def upgrade() -> None:
    connection = op.get_bind()
    for version_id, definition in connection.execute(
        sa.select(versions.c.id, versions.c.definition)
    ):
        checksum = CampaignDefinition.from_json(definition).checksum()
        connection.execute(
            versions.update().where(versions.c.id == version_id).values(checksum=checksum)
        )


def downgrade() -> None:
    pass  # the old checksums only decided "changed or not"; the new ones answer the same
