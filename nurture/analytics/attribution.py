"""Which campaign step gets the credit for a lead's reply, opt-out or booking.

The rule (also written on the Results page): a lead's first such event after enrolling
is attributed to the last step of the campaign sent to that lead before the event.
Bookings look at steps on either channel; a reply or an opt-out looks only at steps
on its own channel, because it answers a message on that channel (a STOP answers a
text; the unsubscribe link sits in an email). With no such step before it, the event
is not attributed (key None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from nurture.booking.models import Booking
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.db import Base
from nurture.messages.models import Message
from nurture.replies.intent import Intent
from nurture.replies.models import InboundMessage


@dataclass(frozen=True)
class EventSource:
    """Where one kind of lead event is recorded, and which of its rows count."""

    model: type[Base]
    id: InstrumentedAttribute[int]
    lead_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]
    at: InstrumentedAttribute[datetime]
    channel: InstrumentedAttribute[str] | None  # None: steps on any channel may get credit
    counts: tuple[ColumnElement[bool], ...] = ()


# An opt-out keyword is a reply in form only: it is counted as an unsubscribe.
REPLIES = EventSource(
    InboundMessage,
    InboundMessage.id,
    InboundMessage.lead_id,
    InboundMessage.received_at,
    InboundMessage.channel,
    (or_(InboundMessage.intent.is_(None), InboundMessage.intent != Intent.STOP),),
)
OPT_OUTS = EventSource(
    ConsentEvent,
    ConsentEvent.id,
    ConsentEvent.lead_id,
    ConsentEvent.occurred_at,
    ConsentEvent.channel,
    (ConsentEvent.action == ConsentAction.REVOKED,),
)
# A booking counts when it is made, even if it is cancelled later.
BOOKINGS = EventSource(Booking, Booking.id, Booking.lead_id, Booking.created_at, None)


def first_events_by_step(
    session: Session, source: EventSource, campaign_id: int, cohort: Subquery
) -> dict[str | None, int]:
    """Cohort leads with an event of `source` after enrolling, by the step credited.

    `cohort` has one row per enrollment of campaign `campaign_id`: id, lead_id,
    enrolled_at. Ids grow with time in every source table, so the lowest id is a
    lead's first event.
    """
    first = (
        select(cohort.c.id.label("enrollment_id"), func.min(source.id).label("event_id"))
        .join(source.model, source.lead_id == cohort.c.lead_id)
        .where(source.at >= cohort.c.enrolled_at, *source.counts)
        .group_by(cohort.c.id)
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
        select(Message.step_key)
        .where(*before)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    credited = (
        select(last_step.label("step_key"))
        .select_from(first)
        .join(source.model, source.id == first.c.event_id)
        .subquery("credited")
    )
    rows = session.execute(
        select(credited.c.step_key, func.count()).group_by(credited.c.step_key)
    ).all()
    return {key: count for key, count in rows}
