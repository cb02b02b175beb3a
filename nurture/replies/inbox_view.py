"""What the staff inbox shows: the open items, newest first, and one person's conversation."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageKind
from nurture.replies.models import InboundMessage, InboxItem, InboxKind, InboxStatus

# Enough history to answer well; the lead's page has the whole timeline.
CONVERSATION_LENGTH = 100


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One open item as the list shows it."""

    item_id: int
    channel: str
    reason: str
    last_message_at: datetime
    first_name: str | None  # None: the sender is not a lead
    lead_public_id: str | None
    sender: str  # the address the latest message came from; a call-back's number to call
    latest_text: str
    kind: str = InboxKind.REPLY.value
    note: str | None = None  # a call-back's note for the desk


def _open(location_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    where = [InboxItem.status == InboxStatus.OPEN]
    if location_ids is not None:  # a front desk limited to its own clinics
        where.append(InboxItem.location_id.in_(location_ids))
    return where


def open_count(session: Session, location_ids: Collection[int] | None = None) -> int:
    """How many items wait for a person (at `location_ids`, when given)."""
    query = select(func.count()).select_from(InboxItem)
    return session.scalar(query.where(*_open(location_ids))) or 0


def open_items(
    session: Session, *, offset: int, limit: int, location_ids: Collection[int] | None = None
) -> list[InboxRow]:
    """A page of open items (at `location_ids`, when given), the latest message first."""
    items = session.execute(
        select(InboxItem, Lead.first_name, Lead.public_id, Lead.phone)
        .outerjoin(Lead, Lead.id == InboxItem.lead_id)
        .where(*_open(location_ids))
        .order_by(InboxItem.last_message_at.desc(), InboxItem.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    latest = _latest_messages(session, [item.id for item, *_ in items])
    rows = []
    for item, first_name, public_id, phone in items:
        message = latest.get(item.id)
        # A call-back has no message of the lead's: its sender is the number to call.
        to_call = phone if item.kind == InboxKind.CALL_BACK else None
        rows.append(
            InboxRow(
                item_id=item.id,
                channel=item.channel,
                reason=item.reason,
                last_message_at=item.last_message_at,
                first_name=first_name,
                lead_public_id=public_id,
                sender=message.sender if message else (to_call or ""),
                latest_text=message.body if message else "",
                kind=item.kind,
                note=item.note,
            )
        )
    return rows


def _latest_messages(session: Session, item_ids: list[int]) -> dict[int, InboundMessage]:
    if not item_ids:
        return {}
    newest = (
        select(func.max(InboundMessage.id))
        .where(InboundMessage.inbox_item_id.in_(item_ids))
        .group_by(InboundMessage.inbox_item_id)
    )
    messages = session.scalars(select(InboundMessage).where(InboundMessage.id.in_(newest)))
    return {m.inbox_item_id: m for m in messages if m.inbox_item_id is not None}


def item_sender(session: Session, item: InboxItem) -> str:
    """The address the item's latest message came from."""
    sender = session.scalar(
        select(InboundMessage.sender)
        .where(InboundMessage.inbox_item_id == item.id)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )
    return sender or ""


@dataclass(frozen=True, slots=True)
class Said:
    """One message in a conversation, either way."""

    at: datetime
    incoming: bool
    channel: str
    text: str
    note: str = ""  # "automatic answer", the outbox status, …


def conversation(session: Session, item: InboxItem) -> list[Said]:
    """The latest messages between the clinic and the item's sender, oldest first."""
    inbound = select(InboundMessage)
    if item.lead_id is not None:
        inbound = inbound.where(InboundMessage.lead_id == item.lead_id)
    else:
        inbound = inbound.where(InboundMessage.inbox_item_id == item.id)
    said: list[Said] = []
    recent = inbound.order_by(InboundMessage.id.desc()).limit(CONVERSATION_LENGTH)
    for message in session.scalars(recent):
        said.append(Said(message.received_at, True, message.channel, message.body))
        # An SMS answer went back in the webhook's response; an email answer is a message row.
        if message.reply and message.channel == Channel.SMS:
            said.append(
                Said(message.received_at, False, message.channel, message.reply, "automatic answer")
            )
    if item.lead_id is not None:
        said.extend(_sent_to(session, item.lead_id))
    said.sort(key=lambda s: (s.at, not s.incoming))
    return said[-CONVERSATION_LENGTH:]


def _sent_to(session: Session, lead_id: int) -> list[Said]:
    messages = session.scalars(
        select(Message)
        .where(Message.lead_id == lead_id)
        .order_by(Message.id.desc())
        .limit(CONVERSATION_LENGTH)
    )
    said = []
    for message in messages:
        content = message.content or {}
        if content.get("to"):
            continue  # a note about the lead for the front desk, not a message to them
        said.append(
            Said(
                message.sent_at or message.created_at,
                False,
                message.channel,
                _text_of(message),
                message.status
                if message.kind == MessageKind.TRANSACTIONAL
                else f"campaign, {message.status}",
            )
        )
    return said


def _text_of(message: Message) -> str:
    content = message.content or {}
    if message.kind != MessageKind.TRANSACTIONAL:
        return message.summary or f"Campaign step {message.step_key}"
    if message.channel == Channel.SMS:
        return str(content.get("body", ""))
    return f"{content.get('subject', '')}\n\n{content.get('text', '')}".strip()
