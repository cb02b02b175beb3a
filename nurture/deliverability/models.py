"""Provider events already seen (the dedupe key) and soft-bounce counts per address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base


class ProviderEvent(Base):
    """One row per provider event id: a second delivery of the same event changes nothing.

    Deliberately minimal: no address, URL or message body, only what is needed to
    dedupe and to explain what happened to a message.
    """

    __tablename__ = "provider_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        # Results count bounced messages: a few rows among millions of opens and deliveries.
        Index("ix_provider_events_type_message", "event_type", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    # Why an accepted event changed nothing (unknown message, unhandled type); None = applied.
    ignored: Mapped[str | None] = mapped_column(String(60))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime]


class SoftBounce(Base):
    """Soft (blocked) bounces of an email address since its last delivery."""

    __tablename__ = "soft_bounces"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    count: Mapped[int]
    updated_at: Mapped[datetime]
