"""A prospect who downloaded an article."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base
from nurture.languages import DEFAULT_LANGUAGE
from nurture.locations.models import DEFAULT_LOCATION_ID


def new_public_id() -> str:
    """An opaque identifier safe to put in URLs and provider metadata."""
    return uuid.uuid4().hex


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        # The staff list: newest first, a page at a time (and the export's keyset paging).
        Index("ix_leads_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(
        String(8), default=DEFAULT_LANGUAGE, server_default=DEFAULT_LANGUAGE
    )
    source: Mapped[str] = mapped_column(String(100))
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id"), index=True, default=DEFAULT_LOCATION_ID, server_default="1"
    )
    created_at: Mapped[datetime]
