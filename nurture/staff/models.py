"""Staff accounts and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from nurture.db import Base


class Role(StrEnum):
    ADMIN = "admin"  # everything, including staff accounts
    MARKETING = "marketing"  # campaigns, leads, results
    FRONTDESK = "frontdesk"  # the inbox and bookings


class StaffUser(Base):
    """A person who signs in to the admin console."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(default=False)
    # Session cookies carry the epoch they were issued in; signing out or a new password
    # moves it on, so every earlier copy of the cookie stops working at once.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # The locations whose leads, inbox and bookings this person sees; None means all.
    location_ids: Mapped[list[int] | None] = mapped_column(JSON)


class AuditEntry(Base):
    """One thing a staff member (or someone trying to be one) did; never changed."""

    __tablename__ = "audit_entries"
    # The login rate limit counts recent failures for one address from one IP.
    __table_args__ = (Index("ix_audit_entries_action_target_at", "action", "target", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: history must outlive the account and never be rewritten by a cascade.
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(320), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[datetime]


class AuditLogIsAppendOnly(RuntimeError):
    """Code tried to change or delete an audit entry."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_rewriting_history(_mapper: Mapper[Any], _connection: Any, entry: AuditEntry) -> None:
    # The database triggers (see the migration) also stop bulk UPDATE/DELETE statements.
    raise AuditLogIsAppendOnly(f"audit entry {entry.id} cannot be changed or deleted")
