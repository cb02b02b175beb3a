"""The consent ledger for auditors: one lead's history, and the whole ledger as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.consent.ledger import current_consent
from nurture.consent.models import ConsentEvent, Suppression
from nurture.leads.models import Lead
from nurture.leads.submission import normalise_email, normalise_phone

LEDGER_COLUMNS = (
    "event_id",
    "lead_id",
    "email",
    "phone",
    "channel",
    "action",
    "occurred_at_utc",
    "source",
    "wording_version",
    "wording",
    "ip",
    "user_agent",
)


class UnknownContact(LookupError):
    """No lead has that email address or phone number."""


def find_by_contact(session: Session, contact: str) -> Lead:
    """The lead with this email address or phone number, normalised as the form does."""
    candidates = []
    if "@" in contact:
        try:
            candidates.append(Lead.email == normalise_email(contact))
        except ValueError as exc:
            raise UnknownContact(f"{contact!r} is not an email address: {exc}") from exc
    else:
        try:
            candidates.append(Lead.phone == normalise_phone(contact))
        except ValueError as exc:
            raise UnknownContact(f"{contact!r} {exc}") from exc
    lead = session.scalars(select(Lead).where(or_(*candidates))).first()
    if lead is None:
        raise UnknownContact(f"no lead with {contact}")
    return lead


@dataclass(frozen=True, slots=True)
class ConsentReport:
    lead: Lead
    current: dict[Channel, bool]
    events: list[ConsentEvent]
    suppressions: list[Suppression]


def consent_report(session: Session, lead: Lead) -> ConsentReport:
    """What is in force now, how it came to be, and which addresses are suppressed."""
    events = list(
        session.scalars(
            select(ConsentEvent).where(ConsentEvent.lead_id == lead.id).order_by(ConsentEvent.id)
        )
    )
    addresses = [(Channel.EMAIL, lead.email)] + ([(Channel.SMS, lead.phone)] if lead.phone else [])
    suppressions = list(
        session.scalars(
            select(Suppression).where(
                or_(
                    *(
                        (Suppression.channel == channel) & (Suppression.address == address)
                        for channel, address in addresses
                    )
                )
            )
        )
    )
    return ConsentReport(lead, current_consent(session, lead.id), events, suppressions)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def ledger_rows(session: Session, lead_id: int | None = None) -> Iterator[tuple[str, ...]]:
    """Every ledger row in order, joined with the lead's contact details."""
    query = (
        select(ConsentEvent, Lead.public_id, Lead.email, Lead.phone)
        .join(Lead, Lead.id == ConsentEvent.lead_id)
        .order_by(ConsentEvent.id)
        .execution_options(yield_per=1000)
    )
    if lead_id is not None:
        query = query.where(ConsentEvent.lead_id == lead_id)
    for event, public_id, email, phone in session.execute(query):
        yield (
            str(event.id),
            public_id,
            email,
            phone or "",
            event.channel,
            event.action,
            _iso(event.occurred_at),
            event.source,
            event.wording_version or "",
            event.wording or "",
            event.ip or "",
            event.user_agent or "",
        )


def write_ledger_csv(session: Session, out: TextIO, lead_id: int | None = None) -> int:
    """Write the ledger as CSV with a header row; returns how many events were written."""
    writer = csv.writer(out)
    writer.writerow(LEDGER_COLUMNS)
    count = 0
    for row in ledger_rows(session, lead_id):
        writer.writerow(row)
        count += 1
    return count
