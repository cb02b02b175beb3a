"""Consent evidence (an append-only ledger) and the global suppression list."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.channel import Channel
from nurture.db import Base, EnumText


class ConsentAction(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


class ConsentEvent(Base):
    """One row per grant or revocation; the latest per (lead, channel) is in force."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_lead_channel", "lead_id", "channel", "id"),
        # Results look up the few opt-outs among every lead's consent grants.
        Index("ix_consent_events_action_lead", "action", "lead_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(EnumText(Channel, 10))
    action: Mapped[ConsentAction] = mapped_column(EnumText(ConsentAction, 10))
    wording_version: Mapped[str | None] = mapped_column(String(40))
    wording: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    occurred_at: Mapped[datetime]


class Suppression(Base):
    """An address no campaign may send to again, whatever its consent says."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
