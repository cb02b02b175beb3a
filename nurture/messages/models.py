"""The outbox: one row per (enrollment, step), and the only allowed status moves."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.channel import Channel
from nurture.db import Base, EnumText
from nurture.leads.models import new_public_id


class MessageStatus(StrEnum):
    QUEUED = "queued"  # written by the dispatcher, waiting for a worker
    HELD = "held"  # outside sending hours or the step's window: waits for due_at
    SENDING = "sending"  # claimed by a worker; the hand-off is in progress
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"  # the gate said no; `reason` says why
    UNKNOWN = "unknown"  # the worker died mid hand-off: never re-sent automatically


class MessageKind(StrEnum):
    CAMPAIGN = "campaign"  # a campaign step: marketing rules apply
    TRANSACTIONAL = "transactional"  # a notice the person asked for (see messages.transactional)
    # A campaign step a person does (the front desk calls back): gated like a campaign
    # step, handed to the inbox instead of a provider, and outside the frequency cap.
    TASK = "task"


# The rows a campaign's steps write: what a booking, an opt-out or an archive settles.
STEP_KINDS = (MessageKind.CAMPAIGN, MessageKind.TASK)


# The whole state machine. A retryable provider error is the one move back
# (sending -> queued): the provider told us it did not take the message.
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    # A booking, an opt-out or a cancelled appointment settles waiting rows as skipped.
    # A lead's "pause for 30 days" holds queued messages again.
    MessageStatus.QUEUED: frozenset(
        {MessageStatus.SENDING, MessageStatus.SKIPPED, MessageStatus.HELD}
    ),
    # A held message may be held again for longer (the lead pauses campaign messages).
    MessageStatus.HELD: frozenset(
        {MessageStatus.QUEUED, MessageStatus.SKIPPED, MessageStatus.HELD}
    ),
    MessageStatus.SENDING: frozenset(
        {
            MessageStatus.SENT,
            MessageStatus.FAILED,
            MessageStatus.SKIPPED,
            MessageStatus.HELD,
            MessageStatus.QUEUED,
            MessageStatus.UNKNOWN,
        }
    ),
    MessageStatus.SENT: frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED}),
    # A receiving server may accept a message and bounce it later (an asynchronous
    # bounce): the provider then reports "bounce" after "delivered".
    MessageStatus.DELIVERED: frozenset({MessageStatus.FAILED}),
    MessageStatus.FAILED: frozenset(),
    MessageStatus.SKIPPED: frozenset(),
    # The provider's own report settles a hand-off whose outcome we lost: it tells, it
    # never causes a resend.
    MessageStatus.UNKNOWN: frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED}),
}

# Written and not yet handed off: what a booking, an opt-out or an archive settles.
WAITING_STATUSES = frozenset({MessageStatus.QUEUED, MessageStatus.HELD})

# Statuses after which no worker touches the message again (provider reports aside):
# invariant 2 says every due step ends in one of these, with a reason unless sent.
SETTLED_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.SKIPPED,
        MessageStatus.UNKNOWN,
    }
)


def can_move(current: str, new: str) -> bool:
    """Whether the state machine allows `current` -> `new`."""
    return MessageStatus(new) in TRANSITIONS[MessageStatus(current)]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Invariant 1: a step is written, and so handed off, once per enrollment.
        UniqueConstraint("enrollment_id", "step_key"),
        Index("ix_messages_status_due", "status", "due_at"),
        # A results recount reads a campaign's messages by enrollment. Counted columns are
        # not INCLUDEd: status and opens change on every webhook, and each change would
        # rewrite the index entry (a recount with them was only ~20% faster).
        Index("ix_messages_campaign_enrollment", "campaign_id", "enrollment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    kind: Mapped[MessageKind] = mapped_column(
        EnumText(MessageKind, 14),
        default=MessageKind.CAMPAIGN,
        server_default=MessageKind.CAMPAIGN.value,
    )
    # Campaign steps have an enrollment; notices have a dedupe key instead.
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE")
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 10))
    status: Mapped[MessageStatus] = mapped_column(
        EnumText(MessageStatus, 12), default=MessageStatus.QUEUED
    )
    reason: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[datetime]
    enqueued_at: Mapped[datetime | None]
    handed_off_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)  # status webhooks
    summary: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a notice's rendered text
    # The A/B variant of its step it is written from (nurture.campaigns.variants).
    variant: Mapped[str | None] = mapped_column(String(80))
    # What the email provider reported afterwards (nurture.deliverability).
    delivered_at: Mapped[datetime | None]
    opens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    clicks: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    deferrals: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
