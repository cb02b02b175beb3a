"""Store a campaign definition in the database as a new version when it changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion


@dataclass(frozen=True, slots=True)
class SyncResult:
    campaign_id: int
    version: int
    changed: bool


def sync_campaign(session: Session, definition: CampaignDefinition, now: datetime) -> SyncResult:
    """Create the campaign or a new version of it; an unchanged definition is a no-op."""
    spec = definition.spec
    campaign = session.scalars(select(Campaign).where(Campaign.slug == spec.slug)).one_or_none()
    if campaign is None:
        campaign = Campaign(
            slug=spec.slug,
            name=spec.name,
            article_slug=spec.article,
            status=CampaignStatus.ACTIVE,
            created_at=now,
        )
        session.add(campaign)
        session.flush()
    current = session.get(CampaignVersion, campaign.current_version_id or 0)
    checksum = definition.checksum()
    if current is not None and current.checksum == checksum:
        return SyncResult(campaign.id, current.number, changed=False)
    number = (
        session.scalar(
            select(func.max(CampaignVersion.number)).where(
                CampaignVersion.campaign_id == campaign.id
            )
        )
        or 0
    ) + 1
    version = CampaignVersion(
        campaign_id=campaign.id,
        number=number,
        checksum=checksum,
        definition=definition.to_json(),
        created_at=now,
    )
    session.add(version)
    session.flush()
    campaign.current_version_id = version.id
    campaign.name, campaign.article_slug = spec.name, spec.article
    return SyncResult(campaign.id, number, changed=True)


def load_version(session: Session, version_id: int) -> CampaignDefinition:
    """The definition stored in one campaign version."""
    version = session.get(CampaignVersion, version_id)
    if version is None:
        raise LookupError(f"campaign version {version_id} does not exist")
    return CampaignDefinition.from_json(version.definition)
