"""A copy of the seeded campaign's folder for a test to mis-write, and what loading says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nurture.campaigns.definition import CampaignFileError, load_campaign_dir
from tests.support import REPO

SEEDED = REPO / "templates" / "campaigns" / "hamstring-sciatica"
TEMPLATES = REPO / "templates"


def copy_seeded(tmp_path: Path) -> Path:
    """The seeded campaign's folder, copied under `tmp_path`."""
    folder = tmp_path / "hamstring-sciatica"
    shutil.copytree(SEEDED, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    """Replace the first `old` in the folder's campaign.yaml (which must hold it)."""
    path = folder / "campaign.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def problems(folder: Path) -> list[str]:
    """What loading the folder refuses, each naming its file and field."""
    with pytest.raises(CampaignFileError) as error:
        load_campaign_dir(folder)
    return error.value.problems
