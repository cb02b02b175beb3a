"""Campaigns and their immutable versions (the synced campaign-as-code)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, EnumText


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    article_slug: Mapped[str | None] = mapped_column(String(120), index=True)
    status: Mapped[CampaignStatus] = mapped_column(
        EnumText(CampaignStatus, 12), default=CampaignStatus.ACTIVE
    )
    # Not a foreign key: the two tables point at each other, and the version row is
    # always written first in the same transaction (see campaigns.sync).
    current_version_id: Mapped[int | None]
    created_at: Mapped[datetime]


class CampaignVersion(Base):
    """A frozen copy of the campaign definition, template sources included."""

    __tablename__ = "campaign_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[int]
    checksum: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class StepPromotion(Base):
    """A step's A/B test decided: from `decided_at` every new message of the step is
    written from `variant`, for the reason recorded (nurture.analytics.promotion)."""

    __tablename__ = "step_promotions"
    __table_args__ = (UniqueConstraint("campaign_id", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(80))
    variant: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    decided_at: Mapped[datetime]
