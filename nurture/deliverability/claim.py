"""Record event ids, learning which ones no earlier post had: the dedupe is the insert.

ON CONFLICT DO NOTHING makes a concurrent post carrying the same id wait for ours and
then skip it, so an event is applied by exactly one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from nurture.db import upsert_insert
from nurture.deliverability.bulk import is_postgres, unnest
from nurture.deliverability.models import ProviderEvent

EVENTS = cast(Table, ProviderEvent.__table__)
KEY = ["provider", "event_id"]


def claim_events(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert `rows` into provider_events; returns the event ids this call inserted."""
    if not rows:
        return set()
    # Sorted, so concurrent posts with overlapping ids lock them in one order (no deadlock).
    rows = sorted(rows, key=lambda row: (row["provider"], row["event_id"]))
    if is_postgres(session):
        return _claim_unnest(session, rows)
    statement = (
        upsert_insert(session)(ProviderEvent)
        .on_conflict_do_nothing(index_elements=KEY)
        .returning(ProviderEvent.event_id)
    )
    return set(session.scalars(statement, rows))


def _claim_unnest(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    names = list(rows[0])
    source = unnest({name: EVENTS.c[name].type for name in names}, rows)
    statement = (
        pg_insert(ProviderEvent)
        .from_select(names, select(*(source.c[name] for name in names)))
        .on_conflict_do_nothing(index_elements=KEY)
        .returning(ProviderEvent.event_id)
    )
    return set(session.scalars(statement))
