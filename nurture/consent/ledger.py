"""Consent evidence and suppression: append, derive the current state, check at send time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.consent.models import Channel, ConsentAction, ConsentEvent, Suppression
from nurture.consent.wording import WORDING
from nurture.db import upsert_insert


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a consent decision came from; kept with every ledger row."""

    source: str
    ip: str | None = None
    user_agent: str | None = None


def grant(
    session: Session,
    lead_id: int,
    channel: Channel,
    evidence: Evidence,
    now: datetime,
    clinic_name: str,
) -> ConsentEvent:
    """Record an explicit opt-in, with the exact wording the person agreed to."""
    wording = WORDING[channel]
    event = ConsentEvent(
        lead_id=lead_id,
        channel=channel,
        action=ConsentAction.GRANTED,
        wording_version=wording.version,
        wording=wording.text(clinic_name),
        source=evidence.source,
        ip=evidence.ip,
        user_agent=(evidence.user_agent or "")[:400] or None,
        occurred_at=now,
    )
    session.add(event)
    return event


def revoke(
    session: Session, lead_id: int, channel: Channel, evidence: Evidence, now: datetime
) -> ConsentEvent:
    """Record an opt-out; it is in force from this moment for every queued message."""
    event = ConsentEvent(
        lead_id=lead_id,
        channel=channel,
        action=ConsentAction.REVOKED,
        source=evidence.source,
        ip=evidence.ip,
        user_agent=(evidence.user_agent or "")[:400] or None,
        occurred_at=now,
    )
    session.add(event)
    return event


def current_consent(session: Session, lead_id: int) -> dict[Channel, bool]:
    """The consent in force per channel: the latest ledger row wins; none means no."""
    rows = session.execute(
        select(ConsentEvent.channel, ConsentEvent.action)
        .where(ConsentEvent.lead_id == lead_id)
        .order_by(ConsentEvent.id)
    ).all()
    state = {Channel.EMAIL: False, Channel.SMS: False}
    for channel, action in rows:
        state[Channel(channel)] = action == ConsentAction.GRANTED
    return state


def normalise_address(channel: Channel, address: str) -> str:
    return address.strip().lower() if channel is Channel.EMAIL else address.strip()


def suppression_reason(session: Session, channel: Channel, address: str) -> str | None:
    """Why an address is suppressed, or None when it may receive mail."""
    return session.scalar(
        select(Suppression.reason).where(
            Suppression.channel == channel,
            Suppression.address == normalise_address(channel, address),
        )
    )


def suppress(session: Session, channel: Channel, address: str, reason: str, now: datetime) -> None:
    """Add an address to the global suppression list (a second time changes nothing)."""
    session.execute(
        upsert_insert(session)(Suppression)
        .values(
            channel=channel,
            address=normalise_address(channel, address),
            reason=reason[:200],
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "address"])
    )
