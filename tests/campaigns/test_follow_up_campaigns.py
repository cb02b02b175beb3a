"""Follow-up campaigns in campaign-as-code: `starts_on` checked naming file and field,
and the two shipped follow-ups valid in both their languages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nurture.campaigns.check import check_campaign
from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.exchange import campaign_yaml
from nurture.campaigns.spec import CampaignSpec
from nurture.messages.segments import count_segments
from tests.support import REPO

TEMPLATES = REPO / "templates"
SHIPPED = ["hamstring-reengage", "screening-recovery"]
TRIGGER = """starts_on:
  - event: sequence_ended_without_booking
    campaign: hamstring-sciatica
    delay: 30d
"""


def with_trigger(tmp_path: Path, trigger: str) -> Path:
    """A copy of the re-engagement campaign whose `starts_on` says `trigger`."""
    folder = tmp_path / "hamstring-reengage"
    shutil.copytree(TEMPLATES / "campaigns" / "hamstring-reengage", folder)
    source = folder / "campaign.yaml"
    text = source.read_text(encoding="utf-8")
    assert TRIGGER in text
    source.write_text(text.replace(TRIGGER, trigger), encoding="utf-8")
    return folder


@pytest.mark.parametrize("slug", SHIPPED)
def test_the_shipped_follow_ups_pass_validation_in_every_language(slug: str) -> None:
    check = check_campaign(TEMPLATES / "campaigns" / slug, TEMPLATES)
    assert check.definition is not None
    assert check.findings == []
    assert check.definition.spec.languages == ["en", "es"]
    assert check.definition.spec.starts_on


@pytest.mark.parametrize("slug", SHIPPED)
def test_the_shipped_follow_ups_texts_stay_in_gsm_7(slug: str) -> None:
    definition = load_campaign_dir(TEMPLATES / "campaigns" / slug)
    texts = [name for name in definition.templates if name.endswith(".txt.j2")]
    assert any(".es." in name for name in texts)
    for name in texts:
        assert count_segments(definition.templates[name]).encoding == "GSM-7", name


@pytest.mark.parametrize("slug", SHIPPED)
def test_the_shipped_follow_ups_texts_carry_no_health_details(slug: str) -> None:
    # A text shows on a lock screen: the condition stays in the emails.
    definition = load_campaign_dir(TEMPLATES / "campaigns" / slug)
    words = ("sciatic", "ciatic", "nerve", "nervio", "pain", "dolor", "knee", "rodilla")
    for name, text in definition.templates.items():
        if name.endswith(".txt.j2"):
            assert not [word for word in words if word in text.lower()], name


def test_a_trigger_naming_an_unknown_campaign_is_an_error_naming_file_and_field(
    tmp_path: Path,
) -> None:
    folder = with_trigger(
        tmp_path,
        "starts_on:\n  - event: sequence_ended_without_booking\n    campaign: no-such-series\n",
    )
    check = check_campaign(folder, TEMPLATES)
    [error] = check.errors
    assert error.where == f"{folder / 'campaign.yaml'}: starts_on[0].campaign"
    assert "'no-such-series'" in error.message
    assert "hamstring-sciatica" in error.message  # the campaigns it could have named


@pytest.mark.parametrize(
    ("trigger", "field", "words"),
    [
        ("starts_on:\n  - event: lead_sneezed\n", "starts_on[0].event", "booking_cancelled"),
        ("starts_on:\n  - event: no_show\n    delay: 2 weeks\n", "starts_on[0].delay", "3d"),
        ("starts_on:\n  - event: sequence_ended_without_booking\n", "starts_on[0]", "campaign"),
        (
            "starts_on:\n  - event: booking_cancelled\n    campaign: hamstring-sciatica\n",
            "starts_on[0]",
            "only sequence_ended_without_booking",
        ),
        (
            "starts_on:\n  - event: no_show\n  - event: no_show\n    delay: 1d\n",
            "(top level)",
            "starts_on[1]: the same event is named twice",
        ),
    ],
)
def test_a_bad_trigger_is_refused_naming_file_and_field(
    tmp_path: Path, trigger: str, field: str, words: str
) -> None:
    folder = with_trigger(tmp_path, trigger)
    check = check_campaign(folder, TEMPLATES)
    assert check.definition is None
    [error] = check.errors
    assert error.where == f"{folder / 'campaign.yaml'}: {field}"
    assert words in error.message


def test_a_campaign_cannot_follow_itself(tmp_path: Path) -> None:
    folder = with_trigger(
        tmp_path,
        "starts_on:\n  - event: sequence_ended_without_booking\n    campaign: hamstring-reengage\n",
    )
    [error] = check_campaign(folder, TEMPLATES).errors
    assert "cannot follow itself" in error.message


def test_an_exported_follow_up_reads_back_the_same() -> None:
    definition = load_campaign_dir(TEMPLATES / "campaigns" / "screening-recovery")
    text = campaign_yaml(definition.spec)
    assert "starts_on:" in text and "event: no_show" in text
    assert CampaignSpec.model_validate(yaml.safe_load(text)) == definition.spec
