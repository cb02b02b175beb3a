"""Per-step email engagement for a campaign: sums over the step's messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.messages.models import Message, MessageStatus


@dataclass(frozen=True, slots=True)
class StepEngagement:
    step_key: str
    sent: int  # accepted by the provider
    delivered: int
    failed: int
    opened: int  # messages opened at least once
    opens: int
    clicked: int  # messages with at least one click
    clicks: int


def engagement_by_step(session: Session, campaign_id: int) -> dict[str, StepEngagement]:
    """Each email step's engagement, in the order the steps go out."""
    rows = session.execute(
        select(
            Message.step_key,
            func.count(Message.sent_at),
            func.sum(case((Message.status == MessageStatus.DELIVERED, 1), else_=0)),
            func.sum(case((Message.status == MessageStatus.FAILED, 1), else_=0)),
            func.sum(case((Message.opens > 0, 1), else_=0)),
            func.coalesce(func.sum(Message.opens), 0),
            func.sum(case((Message.clicks > 0, 1), else_=0)),
            func.coalesce(func.sum(Message.clicks), 0),
        )
        .where(Message.campaign_id == campaign_id, Message.channel == Channel.EMAIL)
        .group_by(Message.step_key)
        .order_by(func.min(Message.due_at), Message.step_key)
    )
    return {
        key: StepEngagement(key, *(int(value or 0) for value in counts)) for key, *counts in rows
    }
