"""replies: inbound messages, slot offers and the staff inbox

Revision ID: a8e01f2d0002
Revises: a7b00c1d0001
Create Date: 2026-11-26 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "a8e01f2d0002"
down_revision: str | None = "a7b00c1d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", nurture.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_inbox_items_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_items_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_inbox_items_status_opened", ["status", "opened_at"], unique=False)

    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("inbox_item_id", sa.Integer(), nullable=True),
        sa.Column("received_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_item_id"],
            ["inbox_items.id"],
            name=op.f("fk_inbound_messages_inbox_item_id_inbox_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_inbound_messages_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "provider", "provider_id", name=op.f("uq_inbound_messages_provider_provider_id")
        ),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_messages_inbox_item_id"), ["inbox_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inbound_messages_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "slot_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("starts", sa.JSON(), nullable=False),
        sa.Column("offered_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", nurture.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_slot_offers_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_offers")),
    )
    with op.batch_alter_table("slot_offers", schema=None) as batch_op:
        batch_op.create_index("ix_slot_offers_lead_open", ["lead_id", "closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slot_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_offers_lead_open")
    op.drop_table("slot_offers")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_messages_lead_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_messages_inbox_item_id"))
    op.drop_table("inbound_messages")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_status_opened")
        batch_op.drop_index(batch_op.f("ix_inbox_items_lead_id"))
    op.drop_table("inbox_items")
