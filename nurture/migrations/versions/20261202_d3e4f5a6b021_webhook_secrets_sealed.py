"""webhook_endpoints.secret: room for a sealed secret (enc:v1: and a Fernet token)

Revision ID: d3e4f5a6b021
Revises: c2d3e4f5a020
Create Date: 2026-12-02 19:30:00.000000

Rows stay as they are: a plaintext secret still signs, and is sealed the next time it
does (nurture.webhooks_out.endpoints.signing_secret).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3e4f5a6b021"
down_revision: str | Sequence[str] | None = "c2d3e4f5a020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(100), type_=sa.String(400), existing_nullable=False
        )


def downgrade() -> None:
    # A sealed secret does not fit the old column: open each one again (with this
    # environment's NURTURE_SECRET_KEY) so the older code finds the plaintext it expects.
    from nurture.config import get_settings
    from nurture.webhooks_out.sealing import is_sealed, unseal

    app_secret = get_settings().secret_key
    connection = op.get_bind()
    endpoints = sa.table("webhook_endpoints", sa.column("id"), sa.column("secret"))
    for row in connection.execute(sa.select(endpoints.c.id, endpoints.c.secret)).all():
        if is_sealed(row.secret):
            connection.execute(
                endpoints.update()
                .where(endpoints.c.id == row.id)
                .values(secret=unseal(row.secret, app_secret))
            )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(400), type_=sa.String(100), existing_nullable=False
        )
