"""SendGrid Event Webhook posts parsed into plain values, keeping only what we act on.

The body is a JSON array of event objects. A body that is not one is refused whole;
a single unusable element is reported by index and the rest of the batch proceeds,
because SendGrid retries a refused post with the same bad element in it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nurture.channel import Channel
from nurture.consent.ledger import normalise_address

_ENHANCED_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_EMAIL_ADDRESS = re.compile(r"[^\s@<>\"',;:]+@[^\s@<>\"',;:]+")
MAX_ID_LENGTH = 100


class EventKind(StrEnum):
    PROCESSED = "processed"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCE = "bounce"
    DROPPED = "dropped"
    OPEN = "open"
    CLICK = "click"
    SPAM_REPORT = "spamreport"
    UNSUBSCRIBE = "unsubscribe"
    GROUP_UNSUBSCRIBE = "group_unsubscribe"
    GROUP_RESUBSCRIBE = "group_resubscribe"


class MalformedBatch(Exception):
    """The body is not a JSON array of events; nothing in it is applied."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One element that could not be used, by its position in the posted array."""

    index: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ProviderEventIn:
    """One event, reduced to what the product uses (no URLs, agents or IP addresses)."""

    index: int
    event_id: str
    kind: str  # SendGrid's `event`; may be a type we do not handle
    message_ref: str | None
    email: str | None  # normalised
    occurred_at: datetime | None
    hard_bounce: bool  # bounce `type` "bounce" (or absent); "blocked" is soft
    status: str | None  # enhanced SMTP status of a bounce, e.g. "5.1.1"
    reason: str | None  # a drop's reason, addresses removed

    @property
    def known_kind(self) -> EventKind | None:
        try:
            return EventKind(self.kind)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    events: list[ProviderEventIn]
    rejected: list[Rejection]


def parse_batch(raw: bytes) -> ParsedBatch:
    """The usable events of a post, and the elements refused; MalformedBatch if no array."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8, or nested too deep
        raise MalformedBatch("the body must be a JSON array of events") from None
    if not isinstance(data, list):
        raise MalformedBatch("the body must be a JSON array of events")
    events, rejected = [], []
    for index, item in enumerate(data):
        parsed = parse_event(index, item)
        if isinstance(parsed, Rejection):
            rejected.append(parsed)
        else:
            events.append(parsed)
    return ParsedBatch(events, rejected)


def parse_event(index: int, item: Any) -> ProviderEventIn | Rejection:
    """One array element as an event, or why it cannot be used."""
    if not isinstance(item, dict):
        return Rejection(index, "event", "each element must be a JSON object")
    bad = next((key for key, value in item.items() if _holds_nul(key) or _holds_nul(value)), None)
    if bad is not None:
        # No database stores text with a NUL in it: refuse this element, keep the rest.
        return Rejection(index, str(bad).replace("\x00", ""), "contains a NUL character")
    event_id, kind = item.get("sg_event_id"), item.get("event")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID_LENGTH:
        return Rejection(index, "sg_event_id", "a non-empty string is required")
    if not isinstance(kind, str) or not 0 < len(kind) <= 40:
        return Rejection(index, "event", "a non-empty string is required")
    ref = item.get("message_ref")
    email = item.get("email")
    status = item.get("status")
    reason = item.get("reason")
    return ProviderEventIn(
        index=index,
        event_id=event_id,
        kind=kind,
        message_ref=ref if isinstance(ref, str) and 0 < len(ref) <= MAX_ID_LENGTH else None,
        email=(normalise_address(Channel.EMAIL, email) or None) if isinstance(email, str) else None,
        occurred_at=_moment(item.get("timestamp")),
        hard_bounce=item.get("type") != "blocked",
        status=status if isinstance(status, str) and _ENHANCED_STATUS.match(status) else None,
        reason=scrub(reason) if kind == EventKind.DROPPED and isinstance(reason, str) else None,
    )


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def scrub(text: str, limit: int = 100) -> str:
    """Provider text without anything that looks like an email address, shortened."""
    return " ".join(_EMAIL_ADDRESS.sub("[address]", text).split())[:limit]


def _moment(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
