"""Reading the audit log back: newest first, a page at a time, filtered by actor or action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from nurture.staff.models import AuditEntry

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses this filter adds."""
        where: list[ColumnElement[bool]] = []
        if self.actor_id is not None:
            where.append(AuditEntry.actor_id == self.actor_id)
        if self.action:
            where.append(AuditEntry.action == self.action)
        return where


def audit_entries(
    session: Session, chosen: AuditFilter, page: int, per_page: int = PER_PAGE
) -> tuple[Sequence[AuditEntry], int]:
    """One page of entries, newest first, and how many match in all."""
    where = chosen.conditions()
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    # Entries are appended as things happen, so the id orders them by time (and is indexed).
    entries = session.scalars(
        select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return entries, total


def audit_actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter's choices."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
