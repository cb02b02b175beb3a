"""What a STOP or START reply does to consent, and to the messages still waiting to go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from nurture.consent.ledger import Evidence, grant, normalise_address, revoke
from nurture.consent.models import Channel, ConsentAction, ConsentEvent, Suppression
from nurture.messages.models import Message, MessageKind, MessageStatus

SMS_STOP_REASON = "sms consent revoked by STOP"
EMAIL_STOP_REASON = "email consent revoked by reply"
# Twilio error 21610: the carrier saw the person's STOP. Their START lifts both.
CARRIER_STOP = "twilio 21610: recipient unsubscribed (replied STOP)"


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


def stop(
    session: Session, lead_ids: Sequence[int], channel: Channel, source: str, now: datetime
) -> list[int]:
    """Revoke `channel` consent for the leads not already opted out; returns those.

    Their unsent messages on the channel are skipped now; the gate would skip them at
    send time anyway, this makes the reason visible at once. On email only campaign
    messages go: a booking confirmation the person asked for still may.
    """
    latest = latest_actions(session, lead_ids, channel)
    stopped = [lead_id for lead_id, action in latest.items() if action != ConsentAction.REVOKED]
    for lead_id in stopped:
        revoke(session, lead_id, channel, Evidence(source=source), now)
    pending: list[ColumnElement[bool]] = [
        Message.lead_id.in_(lead_ids),
        Message.channel == channel,
        Message.status.in_([MessageStatus.QUEUED, MessageStatus.HELD]),
    ]
    if channel is Channel.SMS:
        reason = SMS_STOP_REASON
    else:
        reason = EMAIL_STOP_REASON
        pending.append(Message.kind == MessageKind.CAMPAIGN)
    session.execute(
        update(Message)
        .where(*pending)
        .values(status=MessageStatus.SKIPPED, reason=reason, updated_at=now)
    )
    return stopped


def restart(
    session: Session,
    lead_ids: Sequence[int],
    channel: Channel,
    *,
    source: str,
    address: str,
    clinic_name: str,
    now: datetime,
) -> list[int]:
    """Grant consent again to leads who had it and opted out; returns the ones subscribed now.

    A lead who never agreed is not opted in by a keyword: they never saw the wording.
    """
    latest = latest_actions(session, lead_ids, channel)
    restarted = [lead_id for lead_id, action in latest.items() if action == ConsentAction.REVOKED]
    for lead_id in restarted:
        grant(session, lead_id, channel, Evidence(source=source), now, clinic_name)
    if restarted and channel is Channel.SMS:
        session.execute(
            delete(Suppression).where(
                Suppression.channel == channel,
                Suppression.address == normalise_address(channel, address),
                Suppression.reason == CARRIER_STOP,
            )
        )
    return [lead_id for lead_id, action in latest.items() if action is not None]
