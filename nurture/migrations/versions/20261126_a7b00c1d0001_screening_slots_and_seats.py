"""screening slots: seats, booking times and clinic settings

Revision ID: a7b00c1d0001
Revises: 088de75e146e
Create Date: 2026-11-26 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "a7b00c1d0001"
down_revision: str | None = "088de75e146e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_BOOKING = sa.text("status != 'cancelled'")


def upgrade() -> None:
    op.create_table(
        "booking_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("taken_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_seats")),
        sa.UniqueConstraint("starts_at", "seat", name=op.f("uq_booking_seats_starts_at_seat")),
    )
    op.create_table(
        "clinic_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_clinic_settings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ends_at", nurture.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("seat_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "calendar_sequence", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("cancelled_at", nurture.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cancel_source", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_bookings_seat_id"), ["seat_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_seat_id_booking_seats"),
            "booking_seats",
            ["seat_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Created after the batch step: SQLite's table rebuild would not carry a partial index.
    op.create_index(
        "uq_bookings_open_lead_id",
        "bookings",
        ["lead_id"],
        unique=True,
        postgresql_where=OPEN_BOOKING,
        sqlite_where=OPEN_BOOKING,
    )


def downgrade() -> None:
    op.drop_index("uq_bookings_open_lead_id", table_name="bookings")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bookings_seat_id_booking_seats"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_bookings_seat_id"), type_="unique")
        batch_op.drop_column("cancel_source")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("calendar_sequence")
        batch_op.drop_column("seat_id")
        batch_op.drop_column("ends_at")
    op.drop_table("clinic_settings")
    op.drop_table("booking_seats")
