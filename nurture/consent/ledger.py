"""Consent evidence and suppression: append, derive the current state, check at send time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, SQLColumnExpression, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.consent.models import ConsentAction, ConsentEvent, Suppression
from nurture.consent.wording import wording_for
from nurture.db import upsert_insert
from nurture.languages import DEFAULT_LANGUAGE


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
    language: str = DEFAULT_LANGUAGE,
) -> ConsentEvent:
    """Record an explicit opt-in, with the exact wording the person agreed to (in the
    language the form was in)."""
    wording = wording_for(channel, language)
    return _record(
        session,
        ConsentEvent(
            lead_id=lead_id,
            channel=channel,
            action=ConsentAction.GRANTED,
            wording_version=wording.version,
            wording=wording.text(clinic_name),
        ),
        evidence,
        now,
    )


def revoke(
    session: Session, lead_id: int, channel: Channel, evidence: Evidence, now: datetime
) -> ConsentEvent:
    """Record an opt-out; it is in force from this moment for every queued message."""
    event = ConsentEvent(lead_id=lead_id, channel=channel, action=ConsentAction.REVOKED)
    return _record(session, event, evidence, now)


def _record(
    session: Session, event: ConsentEvent, evidence: Evidence, now: datetime
) -> ConsentEvent:
    event.source, event.ip, event.occurred_at = evidence.source, evidence.ip, now
    event.user_agent = (evidence.user_agent or "")[:400] or None
    session.add(event)
    return event


def latest_action(lead_id: int | SQLColumnExpression[int], channel: Channel) -> ScalarSelect[str]:
    """The action of the lead's newest ledger row for a channel: the consent in force.

    The one definition of "current consent"; delivery embeds it in its send-time query.
    """
    return (
        select(ConsentEvent.action)
        .where(ConsentEvent.lead_id == lead_id, ConsentEvent.channel == channel)
        .order_by(ConsentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def consent_in_force(email_action: str | None, sms_action: str | None) -> dict[Channel, bool]:
    """Per channel, whether the newest ledger row is a grant (no row means no consent)."""
    return {
        Channel.EMAIL: email_action == ConsentAction.GRANTED,
        Channel.SMS: sms_action == ConsentAction.GRANTED,
    }


def current_consent(session: Session, lead_id: int) -> dict[Channel, bool]:
    """The consent in force per channel: the latest ledger row wins; none means no."""
    email, sms = session.execute(
        select(latest_action(lead_id, Channel.EMAIL), latest_action(lead_id, Channel.SMS))
    ).one()
    return consent_in_force(email, sms)


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
