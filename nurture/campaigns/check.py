"""Checking a campaign folder as a whole (loaded, validated, findings naming real files)
and storing one that passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.definition import CampaignDefinition, CampaignFileError, load_campaign_dir
from nurture.campaigns.sync import SyncResult, sync_campaign
from nurture.campaigns.triggers import known_slugs, trigger_findings
from nurture.campaigns.validate import Finding, validate_definition


@dataclass(frozen=True, slots=True)
class CampaignCheck:
    """A campaign folder as loaded, with every finding naming a real file."""

    folder: Path
    definition: CampaignDefinition | None  # None when the folder could not be loaded
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]


def _load_problem(problem: str) -> Finding:
    # Loader problems read "<file>: <field>: <message>"; keep file and field together.
    parts = problem.split(": ", 2)
    if len(parts) == 3:
        return Finding("error", f"{parts[0]}: {parts[1]}", parts[2].removeprefix("Value error, "))
    return Finding("error", parts[0], parts[1] if len(parts) > 1 else "cannot be loaded")


def check_campaign(folder: Path, templates_dir: Path) -> CampaignCheck:
    """Load and validate one campaign folder."""
    try:
        definition = load_campaign_dir(folder)
    except CampaignFileError as exc:
        return CampaignCheck(folder, None, [_load_problem(p) for p in exc.problems])
    # The validator names files by campaign slug; the folder on disk may be named otherwise.
    prefix = f"{definition.spec.slug}/"
    findings = [
        Finding(f.severity, str(folder / f.where.removeprefix(prefix)), f.message)
        if f.where.startswith(prefix)
        else f
        for f in validate_definition(definition, templates_dir)
    ]
    # A follow-up may name a campaign of another folder (or its own, checked by itself).
    known = known_slugs(templates_dir) | {definition.spec.slug}
    findings[:0] = trigger_findings(definition, str(folder / "campaign.yaml"), known)
    return CampaignCheck(folder, definition, findings)


def sync_checked(factory: sessionmaker[Session], check: CampaignCheck, now: datetime) -> SyncResult:
    """Store a campaign that passed validation (a new version only when it changed)."""
    if check.definition is None or check.errors:
        raise ValueError(f"{check.folder} has errors and cannot be synced")
    with factory.begin() as session:
        return sync_campaign(session, check.definition, now)
