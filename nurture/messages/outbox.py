"""Every status move of the outbox, and only here: claim a batch and settle its rows
(delivery), skip or hold what is waiting (opt-outs, bookings, archives, pauses), release
held rows and expire abandoned hand-offs. Each move is checked against the one state
machine (messages.models.TRANSITIONS) and applied only to a row still in the status it
is moved from, so a late or repeated move changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, update
from sqlalchemy.orm import Session

from nurture.db import one_of
from nurture.messages.models import TRANSITIONS, WAITING_STATUSES, Message, MessageStatus

MESSAGES: Table = Message.__table__  # type: ignore[assignment]  # a mapped class's Table


def claim(session: Session, ids: Iterable[int], now: datetime) -> list[int]:
    """queued -> sending for every id still queued; the ids claimed, in id order.

    One statement for the whole batch; rows another worker took, or that were settled
    meanwhile, are simply not returned.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return []
    claimed = session.scalars(
        update(Message)
        .where(one_of(session, Message.id, wanted), Message.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.SENDING, handed_off_at=now, updated_at=now)
        .returning(Message.id)
    )
    return sorted(claimed)


@dataclass(frozen=True, slots=True)
class Move:
    """One row's next status, and the columns written with it."""

    message_id: int
    to: MessageStatus
    values: dict[str, Any] = field(default_factory=dict)
    source: MessageStatus = MessageStatus.SENDING
    handed_off: bool = False  # a hand-off to the provider: it counts as an attempt


def apply(session: Session, moves: Sequence[Move], now: datetime) -> None:
    """Apply `moves`, one statement for each shape of move (the same columns written)."""
    shapes: dict[tuple[Any, ...], list[Move]] = defaultdict(list)
    for move in moves:
        if move.to not in TRANSITIONS[move.source]:
            raise ValueError(
                f"message {move.message_id}: {move.source} -> {move.to} is not allowed"
            )
        shapes[(move.source, move.to, tuple(sorted(move.values)), move.handed_off)].append(move)
    for (source, to, columns, handed_off), group in shapes.items():
        values: dict[str, Any] = {"status": to, "updated_at": now}
        values |= {column: bindparam(f"v_{column}") for column in columns}
        if handed_off:
            values["attempts"] = MESSAGES.c.attempts + 1
        statement = (
            update(MESSAGES)
            .where(MESSAGES.c.id == bindparam("v_id"), MESSAGES.c.status == source)
            .values(values)
        )
        rows = [
            {"v_id": move.message_id, **{f"v_{k}": v for k, v in move.values.items()}}
            for move in group
        ]
        session.connection().execute(statement, rows)


def move_matching(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    sources: Collection[MessageStatus],
    to: MessageStatus,
    now: datetime,
    **values: Any,
) -> list[int]:
    """Move every message matching `where` and in one of `sources` to `to`; their ids.

    For moves that select rows by what they are (a lead's, a campaign's, an expired
    lease) rather than by id; `values` are written with the status.
    """
    for source in sources:
        if to not in TRANSITIONS[source]:
            raise ValueError(f"{source} -> {to} is not allowed")
    statement = (
        update(Message)
        .where(*where, Message.status.in_(sorted(sources)))
        .values(status=to, updated_at=now, **values)
        .returning(Message.id)
    )
    return list(session.scalars(statement))


def skip_waiting(
    session: Session, where: Sequence[ColumnElement[bool]], reason: str, now: datetime
) -> list[int]:
    """Skip the matching messages not yet handed off, saying why (invariant 2)."""
    return move_matching(
        session, where, WAITING_STATUSES, MessageStatus.SKIPPED, now, reason=reason[:300]
    )


def hold_waiting(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    until: datetime,
    reason: str,
    now: datetime,
) -> list[int]:
    """Hold the matching messages not yet handed off until `until`, saying why."""
    return move_matching(
        session, where, WAITING_STATUSES, MessageStatus.HELD, now, due_at=until, reason=reason
    )
