"""Apply a verified batch of SendGrid events: dedupe, then what each kind of event means.

SendGrid delivers each event at least once, often several times: only the event ids
this batch was first to record (nurture.deliverability.claim) are applied, so a
repeat, even one racing in a concurrent post, changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import normalise_address
from nurture.deliverability.claim import claim_events
from nurture.deliverability.effects import (
    SENDGRID_UNSUBSCRIBE,
    Effects,
    TrackedMessage,
    load_messages,
)
from nurture.deliverability.events import EventKind, ProviderEventIn
from nurture.messages.models import MessageStatus

PROVIDER = "sendgrid"
# SendGrid's click tracking may wrap our short links, so one click would arrive twice:
# once as its event, once at /r/{code}. The short link is the one that counts (it also
# sees texts, and tells a link preview from a person); SendGrid's click is kept, not counted.
CLICK_COUNTED_BY_SHORT_LINK = "click counted by our short link"
HARD_BOUNCE = "hard bounce"
SPAM_COMPLAINT = "spam complaint"
# Drops caused by our message or account rather than the address: suppressing the
# address would punish every lead for one bad template.
NOT_ADDRESS_DROPS = ("invalid smtpapi header", "spam content", "recipient list over package quota")
ADDRESS_KINDS = frozenset(
    {
        EventKind.BOUNCE,
        EventKind.DROPPED,
        EventKind.SPAM_REPORT,
        EventKind.UNSUBSCRIBE,
        EventKind.GROUP_UNSUBSCRIBE,
        EventKind.GROUP_RESUBSCRIBE,
    }
)
CONSENT_KINDS = frozenset(
    {
        EventKind.SPAM_REPORT,
        EventKind.UNSUBSCRIBE,
        EventKind.GROUP_UNSUBSCRIBE,
        EventKind.GROUP_RESUBSCRIBE,
    }
)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What one post did: events applied, seen before, or recorded as ignored."""

    received: int
    applied: int
    duplicates: int
    ignored: int


def apply_events(
    session: Session, events: Sequence[ProviderEventIn], now: datetime, settings: Settings
) -> BatchReport:
    """Record each new event once and apply it; repeats and unknown messages change nothing."""
    unique: dict[str, ProviderEventIn] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    messages = load_messages(session, (e.message_ref for e in unique.values() if e.message_ref))
    ignored = {e.event_id: ignored_because(e, messages) for e in unique.values()}
    claimed = claim_events(session, _event_rows(unique.values(), messages, ignored, now))
    todo = sorted(
        (e for e in unique.values() if e.event_id in claimed and ignored[e.event_id] is None),
        # SendGrid does not post in order; a later bounce must win over an earlier delivery.
        key=lambda e: (e.occurred_at or now, e.index),
    )
    effects = Effects(session, now, settings.clinic_name)
    effects.load(
        addresses={_address(e, messages) for e in todo if e.known_kind in ADDRESS_KINDS},
        soft_addresses={
            _address(e, messages)
            for e in todo
            if e.known_kind in (EventKind.BOUNCE, EventKind.DELIVERED)
        },
        lead_ids={_message(e, messages).lead_id for e in todo if e.known_kind in CONSENT_KINDS},
    )
    for event in todo:
        apply_one(effects, _message(event, messages), event, _address(event, messages), settings)
    effects.write(messages.values())
    return BatchReport(
        received=len(events),
        applied=len(todo),
        duplicates=len(events) - len(claimed),
        ignored=sum(1 for event_id in claimed if ignored[event_id] is not None),
    )


def ignored_because(event: ProviderEventIn, messages: dict[str, TrackedMessage]) -> str | None:
    """Why an event will be recorded but change nothing, or None when it applies."""
    if event.known_kind is None:
        return "unhandled event type"
    if event.message_ref is None:
        return "no message ref"
    message = messages.get(event.message_ref)
    if message is None:
        return "unknown message"
    if message.channel != Channel.EMAIL:
        return "not an email message"
    if event.known_kind is EventKind.CLICK and message.short_links:
        return CLICK_COUNTED_BY_SHORT_LINK
    return None


def apply_one(
    effects: Effects,
    message: TrackedMessage,
    event: ProviderEventIn,
    address: str,
    settings: Settings,
) -> None:
    """What one event means for its message, its address and its lead's consent."""
    kind = event.known_kind
    if kind is EventKind.DELIVERED:
        if message.move(MessageStatus.DELIVERED):
            message.delivered_at = event.occurred_at or effects.now
        effects.delivered_to(address)
    elif kind is EventKind.DEFERRED:
        message.deferrals += 1
    elif kind is EventKind.OPEN:
        message.opens += 1
    elif kind is EventKind.CLICK:
        message.clicks += 1
    elif kind is EventKind.BOUNCE and event.hard_bounce:
        status = f" ({event.status})" if event.status else ""
        message.move(MessageStatus.FAILED, f"hard bounce{status}")
        effects.suppress(address, HARD_BOUNCE)
    elif kind is EventKind.BOUNCE:
        message.move(MessageStatus.FAILED, "soft bounce: blocked by the receiving server")
        limit = settings.soft_bounce_limit
        if effects.soft_bounce(address) >= limit:
            effects.suppress(address, f"soft bounces: {limit} in a row")
    elif kind is EventKind.DROPPED:
        reason = f"dropped: {event.reason or 'no reason given'}"
        message.move(MessageStatus.FAILED, reason)
        if not (event.reason or "").lower().startswith(NOT_ADDRESS_DROPS):
            effects.suppress(address, reason)
    elif kind is EventKind.SPAM_REPORT:
        effects.suppress(address, SPAM_COMPLAINT)
        effects.revoke_email(message.lead_id, SPAM_COMPLAINT)
    elif kind in (EventKind.UNSUBSCRIBE, EventKind.GROUP_UNSUBSCRIBE):
        effects.revoke_email(message.lead_id, "sendgrid unsubscribe")
        effects.suppress(address, SENDGRID_UNSUBSCRIBE)
    elif kind is EventKind.GROUP_RESUBSCRIBE:
        # Clicking "resubscribe" on SendGrid's page is the person's own explicit opt-in.
        effects.grant_email(message.lead_id, "sendgrid resubscribe")
        effects.lift_unsubscribe(address)
    # "processed" only says SendGrid has the message: recorded, nothing to change.


def _message(event: ProviderEventIn, messages: dict[str, TrackedMessage]) -> TrackedMessage:
    return messages[event.message_ref or ""]


def _address(event: ProviderEventIn, messages: dict[str, TrackedMessage]) -> str:
    # The address SendGrid tried, which may differ from the lead's if it was edited since.
    return event.email or normalise_address(Channel.EMAIL, _message(event, messages).lead_email)


def _event_rows(
    events: Iterable[ProviderEventIn],
    messages: dict[str, TrackedMessage],
    ignored: dict[str, str | None],
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "provider": PROVIDER,
            "event_id": event.event_id,
            "event_type": event.kind,
            "message_id": known.id if (known := messages.get(event.message_ref or "")) else None,
            "ignored": ignored[event.event_id],
            "occurred_at": event.occurred_at,
            "received_at": now,
        }
        for event in events
    ]
