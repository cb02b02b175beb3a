"""The endpoints staff configure, and the outbox of deliveries owed to each of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, EnumText


class EventType(StrEnum):
    """What an endpoint can subscribe to; the value is the payload's `type`."""

    CAPTURED = "lead.captured"
    BOOKED = "lead.booked"
    CANCELLED = "lead.cancelled"
    OPTED_OUT = "lead.opted_out"
    REPLIED = "lead.replied"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # written with its event, not yet tried
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # the last attempt failed; another is due at next_attempt_at
    GIVEN_UP = "given_up"  # every attempt failed; staff may retry it by hand


# Not settled: a later event for the same lead and endpoint waits behind these.
OPEN_STATUSES = frozenset({DeliveryStatus.PENDING, DeliveryStatus.FAILED})


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # The subscribed EventType values.
    events: Mapped[list[str]] = mapped_column(JSON)
    # Sealed (nurture.webhooks_out.sealing): signing needs it back, so it is encrypted, not
    # hashed. Shown to staff once, when the endpoint is added. A plaintext value here is a
    # secret from before sealing, sealed the next time it signs a post.
    secret: Mapped[str] = mapped_column(String(400))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event owed to one endpoint: written in the transaction of the change it reports."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # What the sender looks for: due deliveries, oldest first.
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        # A delivery's predecessors for the same lead at the same endpoint.
        Index("ix_webhook_deliveries_endpoint_lead", "endpoint_id", "lead_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The same event id goes to every endpoint, so a receiver can drop a repeat.
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[EventType] = mapped_column(EnumText(EventType, 30))
    # Erasing a lead erases the personal data its pending deliveries carry.
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime]
    status: Mapped[DeliveryStatus] = mapped_column(
        EnumText(DeliveryStatus, 12), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]
