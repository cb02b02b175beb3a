"""A lead's place in a campaign: which step is next and when it is due."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, EnumText


class EnrollmentStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"  # double opt-in: waits for the address to be confirmed
    ACTIVE = "active"
    PAUSED = "paused"  # staff must answer a reply first; the dispatcher skips it
    COMPLETED = "completed"
    EXITED = "exited"


# Enrollments that may still send: a paused one resumes where it stopped.
LIVE_ENROLLMENTS = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        # Re-downloading the article must never enrol the same lead twice.
        UniqueConstraint("lead_id", "campaign_id"),
        # The dispatcher's only query: active enrollments by due time.
        Index(
            "ix_enrollments_due",
            "next_due_at",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        # The staff list's filters: leads in a campaign (with a status), leads by status.
        Index("ix_enrollments_campaign_status", "campaign_id", "status", "lead_id"),
        Index("ix_enrollments_status_lead", "status", "lead_id"),
        # Results for the leads a campaign enrolled in a period.
        Index(
            "ix_enrollments_campaign_enrolled",
            "campaign_id",
            "enrolled_at",
            postgresql_include=["id", "lead_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    campaign_version_id: Mapped[int] = mapped_column(ForeignKey("campaign_versions.id"))
    status: Mapped[EnrollmentStatus] = mapped_column(
        EnumText(EnrollmentStatus, 12), default=EnrollmentStatus.ACTIVE
    )
    next_step_key: Mapped[str | None] = mapped_column(String(80))
    next_due_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
