from __future__ import annotations

from pathlib import Path

import pytest

from nurture.campaigns.definition import CampaignFileError, load_campaign_dir
from nurture.campaigns.validate import validate_definition
from tests.campaigns.seeded_files import SEEDED, TEMPLATES, copy_seeded


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_seeded(tmp_path)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_seeded_campaign_is_valid_and_spans_two_weeks() -> None:
    definition = load_campaign_dir(SEEDED)
    assert validate_definition(definition, TEMPLATES) == []
    steps = definition.spec.steps
    assert len(steps) >= 8
    assert {s.channel.value for s in steps} == {"email", "sms"}
    assert 12 <= steps[-1].offset.days <= 15
    texts = [s for s in steps if s.channel.value == "sms" and s.task is None]
    assert all(s.condition == "sms_consent" for s in texts)


def test_first_sms_says_how_to_opt_out() -> None:
    definition = load_campaign_dir(SEEDED)
    first_sms = next(s for s in definition.spec.steps if s.channel.value == "sms")
    assert "Reply STOP to opt out" in definition.templates[first_sms.template]


def test_sms_carry_no_health_details() -> None:
    definition = load_campaign_dir(SEEDED)
    for step in definition.spec.steps:
        if step.channel.value == "sms" and step.task is None:  # a task's note is for staff
            text = definition.templates[step.template].lower()
            for word in ("sciatic", "nerve", "pain", "diagnos", "symptom", "knee"):
                assert word not in text, (step.key, word)


def test_bad_delay_names_the_file_and_the_step_field(copy: Path) -> None:
    edit(copy / "campaign.yaml", "delay: 2d\n", "delay: two days\n")
    with pytest.raises(CampaignFileError) as error:
        load_campaign_dir(copy)
    assert any(
        "campaign.yaml: steps[2].delay" in p and "is not a delay" in p for p in error.value.problems
    )


def test_yaml_syntax_error_gives_the_line(copy: Path) -> None:
    edit(copy / "campaign.yaml", "steps:\n", "steps: [\n")
    with pytest.raises(CampaignFileError, match=r"campaign.yaml: line \d+"):
        load_campaign_dir(copy)


def test_missing_template_file_is_named(copy: Path) -> None:
    (copy / "04-anatomy-link.md.j2").unlink()
    with pytest.raises(CampaignFileError, match=r"steps\[3\].template: 04-anatomy-link.md.j2"):
        load_campaign_dir(copy)


def test_delays_going_backwards_are_refused(copy: Path) -> None:
    edit(copy / "campaign.yaml", "delay: 14d\n", "delay: 1d\n")
    with pytest.raises(CampaignFileError, match="may not go down"):
        load_campaign_dir(copy)


def test_unknown_variable_and_syntax_error_are_reported_per_template(copy: Path) -> None:
    edit(copy / "03-why-stretching-alone.md.j2", "{{ first_name }}", "{{ lastname }}")
    edit(copy / "04-anatomy-link.md.j2", "{{ first_name }}", "{{ first_name }")
    findings = validate_definition(load_campaign_dir(copy), TEMPLATES)
    messages = [str(f) for f in findings]
    assert any("03-why-stretching-alone.md.j2" in m and "'lastname'" in m for m in messages)
    assert any("04-anatomy-link.md.j2 line" in m for m in messages)


def test_sms_over_the_segment_limit_is_an_error(copy: Path) -> None:
    sms = copy / "05-sms-tip-nudge.txt.j2"
    sms.write_text(sms.read_text() + " More words." * 20)
    findings = validate_definition(load_campaign_dir(copy), TEMPLATES)
    assert any(
        f.severity == "error" and "05-sms-tip-nudge" in f.where and "GSM-7 segments" in f.message
        for f in findings
    )


def test_curly_quote_in_sms_warns_about_unicode(copy: Path) -> None:
    sms = copy / "05-sms-tip-nudge.txt.j2"
    sms.write_text(sms.read_text().replace("'", "’", 1) if "'" in sms.read_text() else "It’s ok")
    findings = validate_definition(load_campaign_dir(copy), TEMPLATES)
    assert any(f.severity == "warning" and "UCS-2" in f.message for f in findings)
