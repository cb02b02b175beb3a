"""Inbound messages, the slots last offered to a lead, and the staff inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.channel import Channel
from nurture.db import Base, EnumText
from nurture.locations.models import DEFAULT_LOCATION_ID


class InboxStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class InboxKind(StrEnum):
    REPLY = "reply"  # the lead (or a stranger) wrote to us
    CALL_BACK = "call_back"  # a campaign step asks the front desk to phone the lead


class OfferPurpose(StrEnum):
    BOOK = "book"
    RESCHEDULE = "reschedule"


class InboxItem(Base):
    """A reply a person must answer; the lead's sequences wait while it is open."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_status_opened", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 10))
    # The clinic whose front desk answers it: the lead's, or the number texted.
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id"), index=True, default=DEFAULT_LOCATION_ID, server_default="1"
    )
    reason: Mapped[str] = mapped_column(String(60))
    kind: Mapped[InboxKind] = mapped_column(
        EnumText(InboxKind, 12), default=InboxKind.REPLY, server_default=InboxKind.REPLY.value
    )
    # A call-back's note for the desk, rendered from its step's template (no reply has one).
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[InboxStatus] = mapped_column(EnumText(InboxStatus, 10), default=InboxStatus.OPEN)
    opened_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(20))


class InboundMessage(Base):
    """One text or email a person sent us; the provider's id makes a retry a no-op."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 10))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    # Kept so staff can answer someone who is not a lead; never logged.
    sender: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(default=False)
    intent: Mapped[str | None] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
    inbox_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_items.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime]


class SlotOffer(Base):
    """The numbered screening times last offered to a lead, so "2" means something."""

    __tablename__ = "slot_offers"
    __table_args__ = (Index("ix_slot_offers_lead_open", "lead_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 10))
    purpose: Mapped[OfferPurpose] = mapped_column(EnumText(OfferPurpose, 12))
    starts: Mapped[list[str]] = mapped_column(JSON)  # ISO 8601 UTC, in the order offered
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
