"""Opting out, the one way: a STOP text, staff in the console, the unsubscribe link and
preferences page, and SendGrid's unsubscribe and spam reports all end consent here.

They differ only in what the caller states: whether a lead who never agreed still gets
a revocation on record (a STOP keyword does; the person's word is the evidence), and
which of the lead's waiting messages are skipped at once rather than by the gate at
send time (the gate refuses them either way; skipping now makes the reason visible).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.consent.ledger import Evidence, revoke
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.messages import outbox
from nurture.messages.models import STEP_KINDS, Message
from nurture.webhooks_out.events import emit
from nurture.webhooks_out.models import EventType


class Skip(StrEnum):
    """Which of the leads' waiting messages on the channel are skipped at once."""

    NONE = "none"  # left to the gate, which refuses them at send time
    CAMPAIGN = "campaign"  # campaign steps; a notice the person asked for may still go
    ALL = "all"  # every message on the channel, notices included


@dataclass(frozen=True, slots=True)
class OptOut:
    """One opt-out as its caller means it."""

    channel: Channel
    evidence: Evidence
    skip: Skip = Skip.NONE
    reason: str = ""  # recorded on each skipped message
    # Record it even for a lead who never agreed (the latest action is not a grant),
    # unless already revoked: a STOP keyword is the person's own word.
    unless_revoked: bool = False


def latest_actions(
    session: Session, lead_ids: Sequence[int], channel: Channel
) -> dict[int, str | None]:
    """The latest ledger action (granted/revoked) per lead on `channel`; None: never asked."""
    rows = session.execute(
        select(ConsentEvent.lead_id, ConsentEvent.action)
        .where(ConsentEvent.lead_id.in_(lead_ids), ConsentEvent.channel == channel)
        .order_by(ConsentEvent.id)
    ).all()
    latest: dict[int, str | None] = dict.fromkeys(lead_ids)
    for lead_id, action in rows:
        latest[lead_id] = action
    return latest


def opt_out(
    session: Session,
    lead_ids: Sequence[int],
    request: OptOut,
    now: datetime,
    *,
    latest: Mapping[int, str | None] | None = None,
) -> list[int]:
    """Revoke `request.channel` consent for `lead_ids`; returns the leads it was recorded for.

    Nothing is recorded twice: a lead already opted out adds no ledger row. `latest`
    is the ledger's latest action per lead when the caller has loaded it already.
    The skip applies to every lead given, so a repeated STOP still clears what waits.
    """
    actions = latest if latest is not None else latest_actions(session, lead_ids, request.channel)
    recorded = [
        lead_id
        for lead_id in lead_ids
        if (action := actions.get(lead_id)) == ConsentAction.GRANTED
        or (request.unless_revoked and action != ConsentAction.REVOKED)
    ]
    for lead_id in recorded:
        revoke(session, lead_id, request.channel, request.evidence, now)
        emit(session, EventType.OPTED_OUT, lead_id, now, {"channel": request.channel.value})
    if request.skip is not Skip.NONE and lead_ids:
        where: list[ColumnElement[bool]] = [
            Message.lead_id.in_(lead_ids),
            Message.channel == request.channel,
        ]
        if request.skip is Skip.CAMPAIGN:
            where.append(Message.kind.in_(STEP_KINDS))
        outbox.skip_waiting(session, where, request.reason, now)
    return recorded
