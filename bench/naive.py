"""The design DESIGN.md rejects, for comparison: one Celery task per message, with a countdown.

`naive_send` is registered on a real worker (`celery -A workers.celery_app worker
-I bench.naive`). It is kept honest: it does the same per-message work as the outbox
path — load the lead, its enrollment and the campaign version, check consent,
suppression, bookings and the frequency cap at send time with the same
`BatchState` (for a batch of one) and `gate`, render with the same compose/render code, send through
the same channel object to the same stub, and write one Message row — with no
artificial slowness. Where the two differ, the difference favours the naive design:
it has no separate claim and finish transactions, which the outbox path commits
around every hand-off to be crash-safe.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.models import CampaignStatus
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.clock import Clock, anchored_clock
from nurture.config import get_settings
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.leads.models import Lead, new_public_id
from nurture.messages.channels.base import EmailChannel
from nurture.messages.channels.factory import email_channel
from nurture.messages.compose import compose_email
from nurture.messages.facts import BatchState, Loaded, campaign_gate_facts
from nurture.messages.gate import gate
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.sequences.models import Enrollment
from workers.celery_app import app


@lru_cache(maxsize=1)
def _clock() -> Clock:
    return anchored_clock(get_sessionmaker(), get_settings().time_scale)


@lru_cache(maxsize=1)
def _policy() -> SendingPolicy:
    return SendingPolicy.from_settings(get_settings())


@lru_cache(maxsize=1)
def _channel() -> EmailChannel:
    # One channel per worker process, as the outbox path's `delivery()` keeps.
    return email_channel(get_settings())


def _record(factory: sessionmaker[Session], message: Message, **values: object) -> None:
    for name, value in values.items():
        setattr(message, name, value)
    with factory.begin() as session:
        session.add(message)


@app.task(name="bench.naive_send")
def naive_send(lead_id: int, step_key: str) -> str:
    """Check, render and send one email step for one lead, then record it."""
    settings, factory, now = get_settings(), get_sessionmaker(), _clock().now()
    with factory.begin() as session:
        lead = session.get_one(Lead, lead_id)
        enrollment = session.scalars(select(Enrollment).where(Enrollment.lead_id == lead_id)).one()
        definition = load_version(session, enrollment.campaign_version_id)
        step = definition.spec.step(step_key)
        # Not in the session yet: the row is written once the outcome is known.
        message = Message(
            ref=new_public_id(),
            enrollment_id=enrollment.id,
            lead_id=lead.id,
            campaign_id=enrollment.campaign_id,
            step_key=step_key,
            channel=Channel.EMAIL.value,
            kind=MessageKind.CAMPAIGN.value,
            due_at=now,
            attempts=0,
            created_at=now,
        )
        # The delivery pipeline's own fact loading, for a batch of one.
        item = Loaded(message, lead, enrollment, CampaignStatus.ACTIVE)
        state = BatchState(session, _policy(), [item], {message.id: lead.email}, now)
        live = state.live(message, lead.email)
        facts = campaign_gate_facts(settings, _policy(), lead, enrollment, step, message, live)
        decision = gate(facts, now)
        email = (
            compose_email(settings, lead, definition, step, message.ref)[0]
            if decision.action == "send"
            else None
        )
    if email is None:
        _record(
            factory,
            message,
            status=MessageStatus.SKIPPED.value,
            reason=decision.reason,
            updated_at=now,
        )
        return "skipped"
    result = _channel().send(email)
    sent_at = _clock().now()
    _record(
        factory,
        message,
        status=MessageStatus.SENT.value,
        attempts=1,
        handed_off_at=now,
        sent_at=sent_at,
        updated_at=sent_at,
        provider_id=result.provider_id[:100] or None,
        summary=email.subject[:200],
    )
    return "sent"
