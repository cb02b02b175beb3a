"""Record an inbound message once: the provider's id is unique, so a retry changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from nurture.db import upsert_insert
from nurture.replies.conversation import Answer
from nurture.replies.models import InboundMessage
from nurture.webhooks_out.events import emit
from nurture.webhooks_out.models import EventType


def record_inbound(
    session: Session,
    *,
    provider: str,
    provider_id: str,
    channel: str,
    sender: str,
    body: str,
    limit: int,
    now: datetime,
) -> int | None:
    """The new row's id, or None when this provider id was recorded before.

    A body over `limit` characters is cut for storage (and still answered).
    """
    inserted: int | None = session.scalar(
        upsert_insert(session)(InboundMessage)
        .values(
            provider=provider,
            provider_id=provider_id[:200],
            channel=channel,
            sender=sender[:320],
            body=body[:limit],
            truncated=len(body) > limit,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_id"])
        .returning(InboundMessage.id)
    )
    return inserted


def note_answer(
    session: Session, inbound_id: int, lead_id: int | None, answer: Answer, reply: str | None
) -> None:
    """Keep what the message meant and what we answered, next to the message; a lead's
    message is announced as lead.replied (after whatever it caused, such as a booking)."""
    row = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id)
        .values(
            lead_id=lead_id,
            intent=answer.intent.value,
            reply=reply,
            inbox_item_id=answer.inbox_item_id,
        )
        .returning(InboundMessage.channel, InboundMessage.received_at)
    ).one_or_none()
    if lead_id is not None and row is not None:
        # The words stay out of the payload: what the person wrote is for staff to read.
        details = {"channel": row.channel.value, "intent": answer.intent.value}
        emit(session, EventType.REPLIED, lead_id, row.received_at, details)
