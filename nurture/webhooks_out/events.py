"""Emitting an event: one delivery row per subscribed endpoint, written in the caller's
transaction, so a change that rolls back announces nothing and one that commits is
never lost. The payload is fixed at that moment; the README documents each type.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking
from nurture.leads.models import Lead
from nurture.webhooks_out.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint


def iso(moment: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a Z, as every payload writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def lead_fields(lead: Lead) -> dict[str, Any]:
    """What a payload tells about the lead: who they are and how to reach them."""
    return {
        "id": lead.public_id,
        "first_name": lead.first_name,
        "email": lead.email,
        "phone": lead.phone,
        "language": lead.language,
    }


def booking_fields(booking: Booking) -> dict[str, Any]:
    """A booking as booked and cancelled events describe it (times are UTC)."""
    return {
        "id": booking.id,
        "status": booking.status.value,
        "starts_at": iso(booking.starts_at),
        "ends_at": iso(booking.ends_at),
        "source": booking.source,
    }


def emit(
    session: Session,
    event_type: EventType,
    lead_id: int,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> int:
    """Owe the event to every enabled endpoint subscribed to it; returns how many."""
    endpoints = [
        endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        )
        if event_type.value in endpoint.events
    ]
    if not endpoints:
        return 0
    lead = session.get(Lead, lead_id)
    if lead is None:
        return 0
    event_id = "evt_" + uuid.uuid4().hex
    payload = {
        "id": event_id,
        "type": event_type.value,
        "occurred_at": iso(now),
        "lead": lead_fields(lead),
        **(details or {}),
    }
    session.add_all(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event_id,
            event_type=event_type,
            lead_id=lead_id,
            payload=payload,
            occurred_at=now,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    return len(endpoints)


def emit_booking(session: Session, event_type: EventType, booking: Booking, now: datetime) -> int:
    """A booked or cancelled event for `booking` (a move is booked again, with its new time)."""
    return emit(session, event_type, booking.lead_id, now, {"booking": booking_fields(booking)})
