"""What saving a step edit would mean for the leads already enrolled, said before saving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.editing.migration import plan_moves
from nurture.campaigns.models import Campaign
from nurture.consent.policy import SendingPolicy
from nurture.messages.models import WAITING_STATUSES, Message, MessageStatus
from nurture.sequences.models import LIVE_ENROLLMENTS, Enrollment, EnrollmentStatus


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@dataclass(frozen=True)
class Impact:
    """What saving an edit of one step would mean for the leads already enrolled."""

    status: str
    new_version: int
    running: int = 0
    paused: int = 0
    waiting: int = 0  # their next step is the edited one
    before: int = 0  # they have not reached it yet
    past: int = 0  # they are past it
    ending: int = 0
    retimed: int = 0
    due_now: int = 0
    pending_messages: int = 0
    sent_messages: int = 0

    def lines(self) -> list[str]:
        """The impact in sentences, for the page and the editor's script."""
        version = self.new_version
        lines = []
        if not self.running:
            lines.append(
                "No leads are enrolled right now: the new version applies to everyone "
                "who signs up from now on."
            )
        else:
            lines.append(
                f"{_n(self.running, 'lead is', 'leads are')} enrolled "
                f"({self.paused} paused). On save they move to version {version} and "
                "continue by step key."
            )
            timing = ""
            if self.retimed:
                timing = (
                    " The new timing recomputes their due time from sign-up: "
                    f"{_n(self.due_now, 'would', 'would')} become due at once."
                )
            lines += [
                f"{self.waiting} waiting for this step will get the new content.{timing}",
                f"{self.before} not at this step yet will get the new content when they reach it.",
                f"{self.past} already past this step: nothing changes for them.",
            ]
            if self.ending:
                lines.append(f"{self.ending} will end: none of their next steps remain.")
        if self.pending_messages:
            lines.append(
                f"{_n(self.pending_messages, 'message', 'messages')} for this step "
                "written but not sent yet (queued or held) will go out with the new content."
            )
        if self.sent_messages:
            lines.append(
                f"{_n(self.sent_messages, 'message', 'messages')} already sent for this "
                "step keep what they said."
            )
        if self.status == "active":
            lines.append(
                f"Saving creates version {version}; version {version - 1} stays stored as "
                f"it was, and new sign-ups start on version {version}."
            )
        else:
            lines.append(
                f"This campaign is {self.status}. Saving still creates version {version}: "
                "every edit is a version, so it is recorded and can be compared."
            )
        return lines


def describe_impact(
    session: Session,
    campaign: Campaign,
    edited: CampaignDefinition,
    key: str,
    *,
    new_version: int,
    now: datetime,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
) -> Impact:
    """What saving `edited` would do to enrolled leads, counted from the database."""
    order = [s.key for s in edited.spec.steps]
    place = order.index(key)
    counts = {"waiting": 0, "before": 0, "past": 0, "ending": 0}
    retimed = due_now = 0
    for group in plan_moves(session, campaign.id, edited.spec, policy, clinic_zone):
        if group.completes:
            counts["ending"] += group.count
            continue
        where = order.index(group.target) if group.target is not None else len(order)
        slot = "waiting" if where == place else "before" if where < place else "past"
        counts[slot] += group.count
        if slot == "waiting":
            retimed += len(group.due)
            due_now += sum(1 for due in group.due.values() if due <= now)
    running = (Enrollment.campaign_id == campaign.id, Enrollment.status.in_(LIVE_ENROLLMENTS))
    paused = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(*running, Enrollment.status == EnrollmentStatus.PAUSED)
    )

    def messages(*where: Any) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.campaign_id == campaign.id, Message.step_key == key, *where)
            )
            or 0
        )

    pending = messages(
        Message.status.in_(WAITING_STATUSES),
        Message.enrollment_id.in_(select(Enrollment.id).where(*running).scalar_subquery()),
    )
    sent = messages(Message.status.in_([MessageStatus.SENT, MessageStatus.DELIVERED]))
    return Impact(
        status=campaign.status,
        new_version=new_version,
        running=sum(counts.values()),
        paused=paused or 0,
        retimed=retimed,
        due_now=due_now,
        pending_messages=pending,
        sent_messages=sent,
        **counts,
    )
