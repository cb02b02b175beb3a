"""Which campaign step gets the credit for a lead's reply, opt-out or booking.

The rule (also written on the Results page): a lead's first such event after enrolling
is attributed to the last step of the campaign sent to that lead before the event.
Bookings look at steps on either channel; a reply or an opt-out looks only at steps
on its own channel, because it answers a message on that channel (a STOP answers a
text; the unsubscribe link sits in an email). With no such step before it, the event
is not attributed (step None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from nurture.booking.models import Booking
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.db import Base
from nurture.messages.models import Message
from nurture.replies.intent import Intent
from nurture.replies.models import InboundMessage


@dataclass(frozen=True)
class EventSource:
    """Where one kind of lead event is recorded, and which of its rows count."""

    counted_as: str  # the per-step column its first events are counted in
    model: type[Base]
    id: InstrumentedAttribute[int]
    lead_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]
    at: InstrumentedAttribute[datetime]
    channel: InstrumentedAttribute[str] | None  # None: steps on any channel may get credit
    counts: tuple[ColumnElement[bool], ...] = ()


# An opt-out keyword is a reply in form only: it is counted as an unsubscribe.
REPLIES = EventSource(
    "replies",
    InboundMessage,
    InboundMessage.id,
    InboundMessage.lead_id,
    InboundMessage.received_at,
    InboundMessage.channel,
    (or_(InboundMessage.intent.is_(None), InboundMessage.intent != Intent.STOP),),
)
OPT_OUTS = EventSource(
    "unsubscribes",
    ConsentEvent,
    ConsentEvent.id,
    ConsentEvent.lead_id,
    ConsentEvent.occurred_at,
    ConsentEvent.channel,
    (ConsentEvent.action == ConsentAction.REVOKED,),
)
# A booking counts when it is made, even if it is cancelled later.
BOOKINGS = EventSource("bookings", Booking, Booking.id, Booking.lead_id, Booking.created_at, None)


def first_events_by_step(
    source: EventSource, campaign_id: int, cohort: Subquery, *, by_variant: bool = False
) -> Select[Any]:
    """Per (enrolled_hour, step_key, channel) credited: leads whose first `source` event it is.

    With `by_variant`, also per the credited message's A/B variant (a fourth column).

    `cohort` has one row per enrollment of campaign `campaign_id`: id, lead_id,
    enrolled_at, enrolled_hour. Ids grow with time in every source table, so the
    lowest id is a lead's first event. Step key and channel are NULL when no step
    could take the credit.
    """
    first = (
        select(
            cohort.c.id.label("enrollment_id"),
            cohort.c.enrolled_hour,
            func.min(source.id).label("event_id"),
        )
        .join(source.model, source.lead_id == cohort.c.lead_id)
        .where(source.at >= cohort.c.enrolled_at, *source.counts)
        .group_by(cohort.c.id, cohort.c.enrolled_hour)
        .subquery("first_event")
    )
    before: list[ColumnElement[bool]] = [
        Message.campaign_id == campaign_id,
        Message.enrollment_id == first.c.enrollment_id,
        Message.sent_at <= source.at,
    ]
    if source.channel is not None:
        before.append(Message.channel == source.channel)
    # One lookup per event in ix_messages_campaign_enrollment, which holds every column
    # read here: on Postgres the enrollment's few messages are read from the index alone.
    last_step = (
        select(Message.id)
        .where(*before)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    credited = (
        select(first.c.enrolled_hour, last_step.label("message_id"))
        .select_from(first)
        .join(source.model, source.id == first.c.event_id)
        .subquery("credited")
    )
    step = aliased(Message, name="credited_step")
    keys: list[Any] = [credited.c.enrolled_hour, step.step_key, step.channel]
    if by_variant:
        keys.append(step.variant)
    return (
        select(*keys, func.count().label(source.counted_as))
        .select_from(credited)
        .outerjoin(step, step.id == credited.c.message_id)
        .group_by(*keys)
    )
