"""Saving an edited step: a new version, enrollments moved onto it, and the audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from nurture.campaigns.editing.form import StepEdit
from nurture.campaigns.editing.migration import MoveReport, move_enrollments_to_version
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.sync import sync_campaign
from nurture.consent.policy import SendingPolicy
from nurture.staff.service import Actor, record_audit


@dataclass(frozen=True, slots=True)
class SavedEdit:
    from_version: int
    to_version: int
    changed: tuple[str, ...]
    moves: MoveReport


def save_step_edit(
    session: Session,
    campaign: Campaign,
    key: str,
    edit: StepEdit,
    *,
    actor: Actor,
    now: datetime,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
) -> SavedEdit | None:
    """Store the edited campaign as a new version, move enrollments, audit; None if unchanged."""
    if edit.definition is None:
        raise ValueError("only a valid edit can be saved")
    before = session.get(CampaignVersion, campaign.current_version_id or 0)
    result = sync_campaign(session, edit.definition, now)
    if not result.changed or campaign.current_version_id is None:
        return None
    moves = move_enrollments_to_version(
        session, campaign.id, campaign.current_version_id, now, policy, clinic_zone
    )
    saved = SavedEdit(before.number if before else 0, result.version, edit.changed, moves)
    record_audit(
        session,
        actor,
        "campaign.step_edited",
        now,
        f"{campaign.slug}/{key}",
        {
            "from_version": saved.from_version,
            "to_version": saved.to_version,
            "fields": list(saved.changed),
            "enrollments_moved": moves.moved,
            "due_at_once": moves.due_now,
        },
    )
    return saved
