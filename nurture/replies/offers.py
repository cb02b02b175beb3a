"""The numbered screening times offered to a lead, so that a reply of "2" books the second.

An offer lives a day; a newer offer closes the older one, and booking closes both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nurture.booking.slots import Slot, open_slots
from nurture.config import Settings
from nurture.locations.models import DEFAULT_LOCATION_ID
from nurture.replies.models import OfferPurpose, SlotOffer

OFFER_SIZE = 3
OFFER_LIFETIME = timedelta(hours=24)


def open_offer(session: Session, lead_id: int, now: datetime) -> SlotOffer | None:
    """The lead's newest offer still open, if any."""
    return session.scalars(
        select(SlotOffer)
        .where(
            SlotOffer.lead_id == lead_id,
            SlotOffer.closed_at.is_(None),
            SlotOffer.expires_at > now,
        )
        .order_by(SlotOffer.id.desc())
    ).first()


def close_offers(session: Session, lead_id: int, now: datetime) -> None:
    """Close every open offer of the lead (answered, superseded or moot)."""
    session.execute(
        update(SlotOffer)
        .where(SlotOffer.lead_id == lead_id, SlotOffer.closed_at.is_(None))
        .values(closed_at=now)
    )


def offered_starts(offer: SlotOffer) -> list[datetime]:
    """The offered slot starts, aware UTC, in the order they were numbered."""
    return [datetime.fromisoformat(value) for value in offer.starts]


def make_offer(
    session: Session,
    settings: Settings,
    *,
    lead_id: int,
    channel: str,
    purpose: OfferPurpose,
    now: datetime,
    start: datetime | None = None,
    location_id: int = DEFAULT_LOCATION_ID,
) -> list[Slot]:
    """Offer the next open slots (from `start`, else as soon as allowed) and remember them.

    Returns the slots offered; none means nothing is open and no offer was stored.
    """
    slots = open_slots(
        session, settings, now=now, start=start, limit=OFFER_SIZE, location_id=location_id
    )
    if not slots and start is not None:
        # Nothing after the asked-for time: the soonest times are better than none.
        slots = open_slots(session, settings, now=now, limit=OFFER_SIZE, location_id=location_id)
    close_offers(session, lead_id, now)
    if slots:
        session.add(
            SlotOffer(
                lead_id=lead_id,
                channel=channel,
                purpose=purpose,
                starts=[slot.starts_at.isoformat() for slot in slots],
                offered_at=now,
                expires_at=now + OFFER_LIFETIME,
            )
        )
        session.flush()
    return slots
