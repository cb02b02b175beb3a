"""What the links in every message let a lead do: who a signed link names, which
channels an unsubscribe link covers, stopping channels, and pausing campaign messages
for 30 days. The pages (nurture.web.preferences) only read the form and answer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.consent.opt_out import OptOut, opt_out
from nurture.leads.models import Lead
from nurture.links import InvalidToken, TokenPurpose, read_token
from nurture.messages import outbox
from nurture.messages.models import STEP_KINDS, Message
from nurture.sequences.models import LIVE_ENROLLMENTS, Enrollment

log = logging.getLogger(__name__)

PAUSE = timedelta(days=30)
PAUSE_REASON = "paused by the lead for 30 days"


def lead_from_token(
    session: Session, settings: Settings, purpose: TokenPurpose, token: str
) -> tuple[Lead, dict[str, str]]:
    """The lead a signed link was made for, with the token's payload, or InvalidToken."""
    payload = read_token(settings, purpose, token)
    lead = session.scalars(
        select(Lead).where(Lead.public_id == payload.get("lead", ""))
    ).one_or_none()
    if lead is None:
        raise InvalidToken("this link is not valid")
    return lead, payload


def token_channels(payload: dict[str, str]) -> list[Channel]:
    """The channels an unsubscribe token covers ("all" is both)."""
    value = payload.get("channel", "")
    if value == "all":
        return list(Channel)
    try:
        return [Channel(value)]
    except ValueError:
        raise InvalidToken("this link is not valid") from None


def stop_channels(
    session: Session, lead: Lead, channels: list[Channel], evidence: Evidence, now: datetime
) -> list[Channel]:
    """Revoke consent on each channel that still has it; returns the ones revoked now."""
    # Already off means nothing to record: a second click adds no ledger row. What
    # waits on the channel is left to the gate, which refuses it at send time.
    stopped = [
        channel
        for channel in channels
        if opt_out(session, [lead.id], OptOut(channel, evidence), now)
    ]
    for channel in stopped:
        log.info("lead %s stopped %s via %s", lead.public_id, channel.value, evidence.source)
    return stopped


def pause_campaigns(
    session: Session, lead_id: int, channels: list[Channel], now: datetime
) -> datetime:
    """Hold the lead's campaign messages for 30 days, consent untouched; returns the end.

    Campaign messages already queued or held on `channels` wait until then: the
    dispatcher releases them and the gate looks at them afresh. Each sequence's next
    step moves by the whole pause, not just to its end, so it still follows the step
    released then instead of overtaking it. Notices the lead asked for (a booking
    confirmation, a reminder) are not campaign messages and still go.
    """
    until = now + PAUSE
    enrollments = session.scalars(
        select(Enrollment).where(
            Enrollment.lead_id == lead_id,
            # Staff-paused sequences move too: resuming one must not send the step at once.
            Enrollment.status.in_(LIVE_ENROLLMENTS),
            Enrollment.next_due_at.is_not(None),
        )
    )
    for enrollment in enrollments:
        if enrollment.next_due_at is not None:
            enrollment.next_due_at = max(enrollment.next_due_at, now) + PAUSE
    # A queued message's delivery task may already be on its way: it claims only
    # queued rows, so once held here the worker leaves it alone.
    campaign_messages = [
        Message.lead_id == lead_id,
        Message.kind.in_(STEP_KINDS),
        Message.channel.in_(channels),
    ]
    outbox.hold_waiting(session, campaign_messages, until, PAUSE_REASON, now)
    return until
