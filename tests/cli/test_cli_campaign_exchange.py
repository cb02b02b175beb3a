"""`nurture campaigns export|import|activate|pause|archive`."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.db import get_sessionmaker
from nurture.staff.models import AuditEntry
from tests.cli.conftest import SEEDED, Invoke, failed_cleanly, succeeded

SLUG = "hamstring-sciatica"


def _status_and_versions() -> tuple[str, list[int]]:
    with get_sessionmaker()() as session:
        campaign = session.scalars(select(Campaign).where(Campaign.slug == SLUG)).one()
        numbers = session.scalars(
            select(CampaignVersion.number).where(CampaignVersion.campaign_id == campaign.id)
        ).all()
        return campaign.status, sorted(numbers)


def test_export_writes_a_folder_that_loads_as_the_repo_campaign(
    nurture: Invoke, synced: None, tmp_path: Path
) -> None:
    output = succeeded(nurture("campaigns", "export", SLUG, "--out", str(tmp_path)))
    assert (
        f"Wrote {tmp_path / SLUG} (24 files)" in output
    )  # campaign.yaml, 11 steps x 2 languages, the desk's note
    assert load_campaign_dir(tmp_path / SLUG).checksum() == load_campaign_dir(SEEDED).checksum()


def test_export_will_not_overwrite_a_folder_unless_forced(
    nurture: Invoke, synced: None, tmp_path: Path
) -> None:
    succeeded(nurture("campaigns", "export", SLUG, "--out", str(tmp_path)))
    (tmp_path / SLUG / "campaign.yaml").write_text("changed by hand")
    refused = failed_cleanly(nurture("campaigns", "export", SLUG, "--out", str(tmp_path)))
    assert "already holds files: pass --force" in refused
    assert (tmp_path / SLUG / "campaign.yaml").read_text() == "changed by hand"
    succeeded(nurture("campaigns", "export", SLUG, "--out", str(tmp_path), "--force"))
    assert (tmp_path / SLUG / "campaign.yaml").read_text().startswith(f"slug: {SLUG}\n")


def test_export_of_an_unknown_campaign_fails_cleanly(nurture: Invoke, synced: None) -> None:
    assert "no campaign has the slug 'nope'" in failed_cleanly(
        nurture("campaigns", "export", "nope")
    )


def test_importing_an_exported_folder_unchanged_adds_no_version(
    nurture: Invoke, synced: None, tmp_path: Path
) -> None:
    succeeded(nurture("campaigns", "export", SLUG, "--out", str(tmp_path)))
    output = succeeded(nurture("campaigns", "import", str(tmp_path / SLUG)))
    assert f"{SLUG} is unchanged: the import equals version 1." in output
    assert _status_and_versions() == ("active", [1])


def test_importing_a_changed_zip_adds_a_version(
    nurture: Invoke, synced: None, tmp_path: Path
) -> None:
    succeeded(nurture("campaigns", "export", SLUG, "--out", str(tmp_path)))
    yaml_file = tmp_path / SLUG / "campaign.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("delay: 14d", "delay: 15d"))
    archive = shutil.make_archive(str(tmp_path / "bundle"), "zip", tmp_path, SLUG)
    output = succeeded(nurture("campaigns", "import", archive))
    assert f"Imported {SLUG} as version 2." in output
    assert _status_and_versions() == ("active", [1, 2])


def test_importing_a_folder_with_a_bad_field_names_it_and_stores_nothing(
    nurture: Invoke, synced: None, campaign_copy: Path
) -> None:
    yaml_file = campaign_copy / "campaign.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("delay: 4d", "delay: later"))
    output = failed_cleanly(nurture("campaigns", "import", str(campaign_copy)))
    assert f"{SLUG}/campaign.yaml: steps[3].delay: 'later' is not a delay" in output
    assert "was not imported" in output
    assert _status_and_versions() == ("active", [1])


def test_status_commands_move_the_campaign_and_are_audited(nurture: Invoke, synced: None) -> None:
    assert f"{SLUG}: active -> paused" in succeeded(nurture("campaigns", "pause", SLUG))
    assert f"{SLUG}: paused -> active" in succeeded(nurture("campaigns", "activate", SLUG))
    archived = succeeded(nurture("campaigns", "archive", SLUG))
    assert f"{SLUG}: active -> archived; 0 enrollment(s) ended" in archived
    refused = failed_cleanly(nurture("campaigns", "activate", SLUG))
    assert f"cannot activate campaign {SLUG}: it is archived and archived is final" in refused
    with get_sessionmaker()() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.actor).order_by(AuditEntry.id)
        ).all()
    assert [action for action, _ in entries] == [
        "campaign.paused",
        "campaign.activated",
        "campaign.archived",
    ]
    assert all(actor.startswith("cli:") for _, actor in entries)
