"""What a batch of events changes, loaded in bulk, decided in memory, written in bulk.

Per-event queries would make a 10,000-event post cost tens of thousands of round
trips; here each kind of fact is one IN query per chunk, and each kind of write one
statement (nurture.deliverability.bulk). Rows are written in key order so two
concurrent posts lock them in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import Integer, String, Table, delete, exists, func, select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.consent.ledger import Evidence, grant
from nurture.consent.models import ConsentAction, ConsentEvent, Suppression
from nurture.consent.opt_out import OptOut, opt_out
from nurture.db import UTCDateTime, upsert_insert
from nurture.deliverability.bulk import Columns, update_many
from nurture.deliverability.models import SoftBounce
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus, can_move
from nurture.messages.short_links import ShortLink

CHUNK = 500  # IN lists far below SQLite's and PostgreSQL's bound-parameter limits
SENDGRID_UNSUBSCRIBE = "unsubscribed via SendGrid"
# Suppressions that only record the person's own wish to stop: the only ones a
# resubscribe lifts. A bounce or a spam complaint is never undone by a click.
UNSUBSCRIBE_REASONS = frozenset({SENDGRID_UNSUBSCRIBE, "dropped: Unsubscribed Address"})
MESSAGES = cast(Table, Message.__table__)
MOVE_COLUMNS: Columns = {
    "id": Integer(),
    "loaded": String(),
    "status": String(),
    "reason": String(),
    "delivered_at": UTCDateTime(),
}
COUNT_COLUMNS: Columns = {
    "id": Integer(),
    "opens": Integer(),
    "clicks": Integer(),
    "deferrals": Integer(),
}
T = TypeVar("T")


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size`."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(slots=True)
class TrackedMessage:
    """A message named by the batch: its status as loaded and as the events leave it."""

    id: int
    lead_id: int
    channel: str
    lead_email: str
    loaded_status: str
    status: str
    reason: str | None = None
    delivered_at: datetime | None = None
    opens: int = 0
    clicks: int = 0
    deferrals: int = 0
    # Its links are our short links, which count its clicks (nurture.messages.short_links).
    short_links: bool = False

    def move(self, status: MessageStatus, reason: str | None = None) -> bool:
        """Apply a status the provider reported, if the state machine allows it."""
        if not can_move(self.status, status):
            return False
        self.status = status
        self.reason = reason
        return True


def load_messages(session: Session, refs: Iterable[str]) -> dict[str, TrackedMessage]:
    """The messages with these refs, by ref (unknown refs are simply absent)."""
    found: dict[str, TrackedMessage] = {}
    for batch in chunks(sorted(set(refs))):
        rows = session.execute(
            select(
                Message.ref,
                Message.id,
                Message.lead_id,
                Message.channel,
                Message.status,
                Lead.email,
                exists().where(ShortLink.message_id == Message.id).label("short_links"),
            )
            .join(Lead, Lead.id == Message.lead_id)
            .where(Message.ref.in_(batch))
        )
        for ref, message_id, lead_id, channel, status, email, short in rows:
            found[ref] = TrackedMessage(
                message_id, lead_id, channel, email, status, status, short_links=bool(short)
            )
    return found


class Effects:
    """Suppressions, soft-bounce counts and email consent for what a batch names."""

    def __init__(self, session: Session, now: datetime, clinic_name: str) -> None:
        self.session, self.now, self.clinic_name = session, now, clinic_name
        self.suppressed: dict[str, str | None] = {}  # address -> reason in force
        self.added: dict[str, str] = {}
        self.lifted: set[str] = set()
        self.soft: dict[str, int] = {}
        self.soft_changed: set[str] = set()
        self.consent: dict[int, bool] = {}

    def load(self, addresses: set[str], soft_addresses: set[str], lead_ids: set[int]) -> None:
        """Read the current state of everything the batch may change."""
        for batch in chunks(sorted(addresses)):
            rows = self.session.execute(
                select(Suppression.address, Suppression.reason).where(
                    Suppression.channel == Channel.EMAIL, Suppression.address.in_(batch)
                )
            )
            self.suppressed.update((address, reason) for address, reason in rows)
        for batch in chunks(sorted(soft_addresses)):
            counts = self.session.execute(
                select(SoftBounce.address, SoftBounce.count).where(SoftBounce.address.in_(batch))
            )
            self.soft.update((address, count) for address, count in counts)
        for ids in chunks(sorted(lead_ids)):
            latest = (
                select(func.max(ConsentEvent.id))
                .where(ConsentEvent.channel == Channel.EMAIL, ConsentEvent.lead_id.in_(ids))
                .group_by(ConsentEvent.lead_id)
            )
            for lead_id, action in self.session.execute(
                select(ConsentEvent.lead_id, ConsentEvent.action).where(
                    ConsentEvent.id.in_(latest.scalar_subquery())
                )
            ):
                self.consent[lead_id] = action == ConsentAction.GRANTED

    def suppress(self, address: str, reason: str) -> None:
        """Suppress the address unless it already is (the first reason stays)."""
        if self.suppressed.get(address) is None:
            self.suppressed[address] = self.added[address] = reason[:200]

    def lift_unsubscribe(self, address: str) -> bool:
        """Lift the address's suppression only if it came from an unsubscribe."""
        if self.suppressed.get(address) not in UNSUBSCRIBE_REASONS:
            return False
        self.suppressed[address] = None
        if self.added.pop(address, None) is None:
            self.lifted.add(address)
        return True

    def soft_bounce(self, address: str) -> int:
        """Count one more soft bounce; returns the count since the last delivery."""
        self.soft[address] = self.soft.get(address, 0) + 1
        self.soft_changed.add(address)
        return self.soft[address]

    def delivered_to(self, address: str) -> None:
        """A delivery shows the mailbox works again: soft bounces start from zero."""
        if self.soft.get(address):
            self.soft[address] = 0
            self.soft_changed.add(address)

    def revoke_email(self, lead_id: int, source: str) -> None:
        """Record an email opt-out, unless email consent is already off."""
        latest = {lead_id: ConsentAction.GRANTED if self.consent.get(lead_id) else None}
        request = OptOut(Channel.EMAIL, Evidence(source))
        if opt_out(self.session, [lead_id], request, self.now, latest=latest):
            self.consent[lead_id] = False

    def grant_email(self, lead_id: int, source: str) -> None:
        """Record the person's own email opt-in, unless consent is already on."""
        if not self.consent.get(lead_id, False):
            grant(
                self.session, lead_id, Channel.EMAIL, Evidence(source), self.now, self.clinic_name
            )
            self.consent[lead_id] = True

    def write(self, messages: Iterable[TrackedMessage]) -> None:
        """Persist every change decided for the batch."""
        self._write_messages(sorted(messages, key=lambda m: m.id))
        self._write_suppressions()
        if self.soft_changed:
            insert = upsert_insert(self.session)(SoftBounce)
            self.session.execute(
                insert.on_conflict_do_update(
                    index_elements=["address"],
                    set_={"count": insert.excluded.count, "updated_at": insert.excluded.updated_at},
                ),
                [
                    {"address": address, "count": self.soft[address], "updated_at": self.now}
                    for address in sorted(self.soft_changed)
                ],
            )

    def _write_messages(self, messages: Sequence[TrackedMessage]) -> None:
        moved = [
            {
                "id": m.id,
                "loaded": m.loaded_status,
                "status": m.status,
                "reason": m.reason,
                "delivered_at": m.delivered_at,
            }
            for m in messages
            if m.status != m.loaded_status
        ]
        # The loaded status in the WHERE: if a concurrent post moved it first, it wins.
        update_many(
            self.session,
            MESSAGES,
            MOVE_COLUMNS,
            moved,
            lambda new: (
                [MESSAGES.c.id == new["id"], MESSAGES.c.status == new["loaded"]],
                {
                    "status": new["status"],
                    "reason": new["reason"],
                    "delivered_at": func.coalesce(new["delivered_at"], MESSAGES.c.delivered_at),
                    "updated_at": self.now,
                },
            ),
        )
        counted = [
            {"id": m.id, "opens": m.opens, "clicks": m.clicks, "deferrals": m.deferrals}
            for m in messages
            if m.opens or m.clicks or m.deferrals
        ]
        # Increments, not totals: a concurrent post counting the same message adds up.
        update_many(
            self.session,
            MESSAGES,
            COUNT_COLUMNS,
            counted,
            lambda new: (
                [MESSAGES.c.id == new["id"]],
                {name: MESSAGES.c[name] + new[name] for name in ("opens", "clicks", "deferrals")},
            ),
        )

    def _write_suppressions(self) -> None:
        # Lifts first: an address lifted and suppressed again in one batch ends suppressed.
        for batch in chunks(sorted(self.lifted)):
            self.session.execute(
                delete(Suppression).where(
                    Suppression.channel == Channel.EMAIL,
                    Suppression.address.in_(batch),
                    Suppression.reason.in_(UNSUBSCRIBE_REASONS),
                )
            )
        if self.added:
            self.session.execute(
                upsert_insert(self.session)(Suppression).on_conflict_do_nothing(
                    index_elements=["channel", "address"]
                ),
                [
                    {
                        "channel": Channel.EMAIL.value,
                        "address": address,
                        "reason": reason,
                        "created_at": self.now,
                    }
                    for address, reason in sorted(self.added.items())
                ],
            )
