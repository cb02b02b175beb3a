"""A call-back step in campaign-as-code: the seeded one, what the desk's note may say,
and every way such a step can be mis-written refused with the file and the field."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.validate import validate_definition
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from tests.campaigns.seeded_files import SEEDED, TEMPLATES, copy_seeded, edit, problems

CALL_BACK_YAML = """\
  - key: screening-call-back
    delay: 13d
    task: call_back
    template: 09b-call-back-note.txt.j2
"""


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_seeded(tmp_path)


def test_the_seeded_campaign_calls_back_a_lead_who_tapped_the_screening_text_and_did_not_book() -> (
    None
):
    definition = load_campaign_dir(SEEDED)
    step = definition.spec.step("screening-call-back")
    assert step.task == "call_back" and step.medium == "call"
    # Written without a channel: a call reaches the phone the texts go to.
    assert step.channel is Channel.SMS
    assert step.if_ is not None
    assert (step.if_.clicked, step.if_.booked) == ("sms-screening-invite", False)
    # A day after the text, in the desk's weekday hours.
    invite = definition.spec.step("sms-screening-invite")
    assert (step.offset - invite.offset).days == 1
    assert step.window is not None and step.window.days == ["mon", "tue", "wed", "thu", "fri"]
    # Its note is for staff: no Spanish needed though the campaign writes in two languages.
    assert definition.spec.languages == ["en", "es"] and step.translations == {}


def test_the_seeded_call_back_note_renders_and_no_segment_limit_applies_to_it() -> None:
    definition = load_campaign_dir(SEEDED)
    findings = validate_definition(definition, TEMPLATES)
    assert [f for f in findings if "09b-call-back-note" in f.where] == []
    # It is longer than a two-segment text would be allowed to be.
    assert len(definition.templates["09b-call-back-note.txt.j2"]) > 2 * 153


def test_a_call_back_keeps_only_its_own_window_not_the_texts_quiet_hours(
    settings: Settings,
) -> None:
    definition = load_campaign_dir(SEEDED)
    policy = SendingPolicy.from_settings(settings)
    call = policy.windows(definition.spec.step("screening-call-back"), "+12175550199")
    text = policy.windows(definition.spec.step("sms-screening-invite"), "+12175550199")
    assert [(w.start, w.end) for w in call] == [(time(9), time(17))]
    assert len(text) > 1  # the step's own window and the SMS sending hours


@pytest.mark.parametrize(
    ("extra", "wanted"),
    [
        ("    channel: email\n", "channel: a call-back is made to the lead's phone"),
        ('    subject: "Call"\n', "a task step has no subject or preheader"),
        (
            "    translations:\n      es: {template: 09b-call-back-note.txt.j2}\n",
            "translations: a task's note is read by the front desk",
        ),
        (
            "    variants:\n      - {key: a, weight: 1}\n      - {key: b, weight: 1}\n",
            "variants: a task step has nobody to A/B test on",
        ),
        ("    task: visit\n", "task: Input should be 'call_back'"),
    ],
)
def test_a_mis_written_call_back_step_is_refused_naming_the_field(
    copy: Path, extra: str, wanted: str
) -> None:
    step = (
        CALL_BACK_YAML.replace("    task: call_back\n", "") if "task:" in extra else CALL_BACK_YAML
    )
    edit(copy, "  - key: screening-call-back\n", "  - key: call-back-2\n")
    edit(
        copy, "  - key: screening-invitation\n", step + extra + "\n  - key: screening-invitation\n"
    )
    found = problems(copy)
    assert any("campaign.yaml" in p and "steps[" in p and wanted in p for p in found), found
