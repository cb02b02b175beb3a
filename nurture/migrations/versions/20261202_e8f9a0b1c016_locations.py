"""locations: each clinic of a group, with its own sender, hours and zone; leads, seats, bookings and inbox items belong to one

Revision ID: e8f9a0b1c016
Revises: d7e8f9a0b015
Create Date: 2026-12-02 16:10:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import nurture.db

revision: str = "e8f9a0b1c016"
down_revision: str | Sequence[str] | None = "d7e8f9a0b015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    locations = op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("sms_sender", sa.String(length=64), nullable=True),
        sa.Column("sms_rate", sa.Float(), nullable=True),
        sa.Column("email_from", sa.String(length=320), nullable=True),
        sa.Column("front_desk_email", sa.String(length=320), nullable=True),
        sa.Column("availability", sa.JSON(), nullable=True),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("zip_prefixes", sa.JSON(), nullable=False),
        sa.Column("created_at", nurture.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("slug", name=op.f("uq_locations_slug")),
    )
    # The default location: every field empty, so it follows the clinic's settings. Its
    # id is 1 (a fresh table's first row), the default of every column below.
    op.bulk_insert(
        locations,
        [{"slug": "main", "area_codes": [], "zip_prefixes": [], "created_at": datetime.now(UTC)}],
    )
    for table in ("leads", "bookings", "inbox_items"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("location_id", sa.Integer(), server_default="1", nullable=False)
            )
            batch.create_foreign_key(
                batch.f(f"fk_{table}_location_id_locations"), "locations", ["location_id"], ["id"]
            )
            batch.create_index(batch.f(f"ix_{table}_location_id"), ["location_id"])
    with op.batch_alter_table("booking_seats") as batch:
        batch.add_column(sa.Column("location_id", sa.Integer(), server_default="1", nullable=False))
        batch.create_foreign_key(
            batch.f("fk_booking_seats_location_id_locations"), "locations", ["location_id"], ["id"]
        )
        # Capacity is per location: two clinics may each fill their 09:00 seat 1.
        batch.drop_constraint("uq_booking_seats_starts_at_seat", type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_booking_seats_location_id_starts_at_seat"),
            ["location_id", "starts_at", "seat"],
        )
    with op.batch_alter_table("staff_users") as batch:
        # Empty (NULL) means every location; a front desk may be limited to its own.
        batch.add_column(sa.Column("location_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("location_ids")
    with op.batch_alter_table("booking_seats") as batch:
        batch.drop_constraint("uq_booking_seats_location_id_starts_at_seat", type_="unique")
        batch.drop_constraint("fk_booking_seats_location_id_locations", type_="foreignkey")
        batch.create_unique_constraint("uq_booking_seats_starts_at_seat", ["starts_at", "seat"])
        batch.drop_column("location_id")
    for table in ("inbox_items", "bookings", "leads"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_location_id")
            batch.drop_constraint(f"fk_{table}_location_id_locations", type_="foreignkey")
            batch.drop_column("location_id")
    op.drop_table("locations")
