"""`nurture campaigns sync` and `list`: versions only when something changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.db import get_sessionmaker
from tests.cli.conftest import Invoke, failed_cleanly, succeeded


def _versions(slug: str) -> list[int]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(CampaignVersion.number)
                .join(Campaign, Campaign.id == CampaignVersion.campaign_id)
                .where(Campaign.slug == slug)
                .order_by(CampaignVersion.number)
            )
        )


def test_second_sync_reports_unchanged(nurture: Invoke, migrated: None) -> None:
    assert "hamstring-sciatica: created (version 1)" in succeeded(nurture("campaigns", "sync"))
    assert "hamstring-sciatica: unchanged (version 1)" in succeeded(nurture("campaigns", "sync"))
    assert _versions("hamstring-sciatica") == [1]


def test_changed_template_is_stored_as_version_2(
    nurture: Invoke, migrated: None, campaign_copy: Path
) -> None:
    succeeded(nurture("campaigns", "sync", str(campaign_copy)))
    template = campaign_copy / "06-nerve-or-muscle.md.j2"
    template.write_text(template.read_text() + "\nOne more thought for you.\n")
    assert "new version 2" in succeeded(nurture("campaigns", "sync", str(campaign_copy)))
    assert _versions("hamstring-sciatica") == [1, 2]
    with get_sessionmaker()() as session:
        campaign = session.scalars(select(Campaign)).one()
        current = session.get_one(CampaignVersion, campaign.current_version_id)
        assert "One more thought" in current.definition["templates"]["06-nerve-or-muscle.md.j2"]


def test_campaign_with_errors_is_refused_and_not_stored(
    nurture: Invoke, migrated: None, campaign_copy: Path
) -> None:
    (campaign_copy / "02-sms-hello.txt.j2").write_text("Hi {{ lastname }}")
    output = failed_cleanly(nurture("campaigns", "sync", str(campaign_copy)))
    assert "not synced" in output
    assert "unknown variable 'lastname'" in output
    assert _versions("hamstring-sciatica") == []


def test_list_shows_when_the_folder_changed_since_the_last_sync(
    nurture: Invoke, synced: None, settings: object
) -> None:
    output = succeeded(nurture("campaigns", "list"))
    row = next(line for line in output.splitlines() if "hamstring-sciatica" in line)
    assert "in sync" in row
    assert " 1 " in row  # the current version
