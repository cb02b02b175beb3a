"""Delivery and dispatch are set-based: a bigger batch costs no more statements.

A per-message statement would make ten times the leads ten times the round trips, which
is what capped the old pipeline; each test counts the statements sent to the database
for a small and a large batch and expects the same number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from nurture.clock import ManualClock
from nurture.config import Settings
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while inside (an executemany counts once)."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def leads_due(db: Database, clock: ManualClock, settings: Settings, count: int) -> Harness:
    harness = Harness(db, clock, settings)
    for n in range(count):
        capture(db.factory, clock, settings, email=f"lead{count}-{n}@example.com", phone=None)
    return harness


def dispatch_and_deliver(harness: Harness) -> tuple[int, int, int]:
    """Statements for one dispatch pass and for delivering what it wrote; and the sends."""
    with statements(harness.db) as dispatching:
        ids = harness.dispatch(deliver=False)
    with statements(harness.db) as delivering:
        harness.delivery.deliver_batch(ids)
    assert len(harness.email.sent) == len(ids)
    return len(dispatching), len(delivering), len(ids)


def test_a_dispatch_pass_and_a_delivery_batch_cost_the_same_statements_for_4_leads_as_for_40(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    few = dispatch_and_deliver(leads_due(db, clock, settings, 4))
    many = dispatch_and_deliver(leads_due(db, clock, settings, 36))
    assert few[2] == 4 and many[2] == 36
    assert many[:2] == few[:2], f"statements (dispatch, delivery): 4 leads {few}, 40 {many}"
