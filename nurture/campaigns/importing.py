"""Campaign-as-code into the database: a zip or folder, checked as `sync` checks it.

A campaign new to the database arrives as a draft (staff activate it when ready); an
existing one gets a new version, or nothing when the definition is unchanged. Leads
already enrolled continue on the new version by step key, as after a step edit.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.archive import unpack_campaign
from nurture.campaigns.check import check_campaign
from nurture.campaigns.definition import CampaignDefinition, CampaignFileError
from nurture.campaigns.editing.migration import move_enrollments_to_version
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import sync_campaign
from nurture.campaigns.validate import Finding
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.staff.service import Actor, record_audit
from nurture.text import counted


class ImportRefused(ValueError):
    """The campaign has errors and nothing was stored; `problems` name file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Imported:
    slug: str
    version: int
    created: bool  # a campaign new to the database, stored as a draft
    changed: bool  # False: the definition equals the current version
    status: str
    warnings: list[Finding] = field(default_factory=list)
    enrollments_moved: int = 0  # running enrollments now continuing on this version

    def summary(self) -> str:
        """One sentence for a notice or the terminal."""
        if self.created:
            return f"Imported {self.slug} as a new draft campaign (version 1)."
        if not self.changed:
            return f"{self.slug} is unchanged: the import equals version {self.version}."
        verb = "continues" if self.enrollments_moved == 1 else "continue"
        moved = f" {counted(self.enrollments_moved, 'enrollment')} {verb} on it by step key."
        return f"Imported {self.slug} as version {self.version}." + (
            moved if self.enrollments_moved else ""
        )


def _relative(where: str, root: Path) -> str:
    # Problems name the file inside the archive, never the server's temporary folder.
    return where.replace(f"{root}/", "").replace(str(root), ".")


def check_folder(
    folder: Path, templates_dir: Path, root: Path | None = None
) -> tuple[CampaignDefinition, list[Finding]]:
    """The folder's definition and warnings, or ImportRefused with every error."""
    check = check_campaign(folder, templates_dir)
    if check.definition is None or check.errors:
        shown = root or folder.parent
        raise ImportRefused([_relative(f"{f.where}: {f.message}", shown) for f in check.errors])
    return check.definition, check.warnings


def store(
    session: Session,
    definition: CampaignDefinition,
    settings: Settings,
    actor: Actor,
    now: datetime,
    warnings: list[Finding] | None = None,
) -> Imported:
    """Store a checked definition (the caller commits)."""
    slug = definition.spec.slug
    existed = session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None
    result = sync_campaign(session, definition, now)
    campaign = session.get_one(Campaign, result.campaign_id)
    moved = 0
    if not existed:
        campaign.status = CampaignStatus.DRAFT
    elif result.changed and campaign.current_version_id is not None:
        policy = SendingPolicy.from_settings(settings)
        moved = move_enrollments_to_version(
            session, campaign.id, campaign.current_version_id, now, policy, settings.clinic_zone
        ).moved
    if result.changed:
        detail = {"version": result.version, "created": not existed, "enrollments_moved": moved}
        record_audit(session, actor, "campaign.imported", now, slug, detail)
    return Imported(
        slug, result.version, not existed, result.changed, campaign.status, warnings or [], moved
    )


def import_folder(
    session: Session, folder: Path, settings: Settings, actor: Actor, now: datetime
) -> Imported:
    """Check and store a campaign folder."""
    definition, warnings = check_folder(folder, settings.templates_dir)
    return store(session, definition, settings, actor, now, warnings)


def import_zip(
    session: Session, data: bytes, settings: Settings, actor: Actor, now: datetime
) -> Imported:
    """Unpack a campaign zip into a temporary folder, check it, and store it."""
    with tempfile.TemporaryDirectory(prefix="nurture-import-") as temporary:
        root = Path(temporary)
        try:
            folder = unpack_campaign(data, root)
        except CampaignFileError as exc:
            raise ImportRefused(exc.problems) from None
        definition, warnings = check_folder(folder, settings.templates_dir, root)
    return store(session, definition, settings, actor, now, warnings)
