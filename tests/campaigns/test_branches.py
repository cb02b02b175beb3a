"""Branches in campaign-as-code: the seeded campaign's branch, and every way a branch
can be wrong refused with the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.campaigns.conditions import rules_for
from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.editing.form import StepForm, apply_step_form
from nurture.campaigns.exchange import campaign_yaml, write_folder
from nurture.campaigns.validate import validate_definition
from nurture.messages.segments import count_segments
from tests.campaigns.seeded_files import SEEDED, TEMPLATES, copy_seeded, edit, problems

BRANCH = "  - key: sms-anatomy-short\n"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_seeded(tmp_path)


def test_the_seeded_campaign_texts_leads_who_left_the_anatomy_email_unopened() -> None:
    definition = load_campaign_dir(SEEDED)
    step = definition.spec.step("sms-anatomy-short")
    assert step.if_ is not None
    assert (step.if_.not_opened, step.if_.within) == ("anatomy-link", "3d")
    assert step.condition == "sms_consent"
    # Asked three days after the anatomy email (day 4), so the window has closed by then.
    assert step.offset >= definition.spec.step("anatomy-link").offset + step.if_.within_delta
    for template in step.template_files():
        assert count_segments(definition.templates[template]).encoding == "GSM-7", template
    assert rules_for(definition.spec, "sms-anatomy-short") is not None
    assert rules_for(definition.spec, "anatomy-link") is None


def test_a_condition_on_an_unknown_step_names_the_file_and_field(copy: Path) -> None:
    edit(copy, "not_opened: anatomy-link", "not_opened: anatomy-lnk")
    found = problems(copy)
    assert any(
        "campaign.yaml" in p and "steps[6].if.not_opened: no step 'anatomy-lnk'" in p for p in found
    ), found


def test_a_condition_on_a_later_step_is_refused(copy: Path) -> None:
    edit(copy, "not_opened: anatomy-link, within: 3d", "clicked: screening-invitation")
    assert any(
        "steps[6].if.clicked: screening-invitation does not come before this step" in p
        for p in problems(copy)
    )


def test_a_window_that_closes_after_the_step_is_due_is_refused(copy: Path) -> None:
    edit(copy, "within: 3d", "within: 5d")
    assert any(
        "steps[6].if.within: 5d after anatomy-link (at 4d) ends after this step is due (at 8d)" in p
        for p in problems(copy)
    )


def test_a_goto_backwards_is_refused_as_a_loop(copy: Path) -> None:
    edit(copy, BRANCH, BRANCH + "    goto: welcome-article\n")
    assert any(
        "steps[6].goto: welcome-article does not come after this step" in p and "loop" in p
        for p in problems(copy)
    )


def test_a_goto_to_itself_is_refused_as_a_loop(copy: Path) -> None:
    edit(copy, BRANCH, BRANCH + "    goto: sms-anatomy-short\n")
    assert any("steps[6].goto: sms-anatomy-short does not come after" in p for p in problems(copy))


def test_a_goto_to_an_unknown_step_is_refused(copy: Path) -> None:
    edit(copy, BRANCH, BRANCH + "    goto: the-end\n")
    assert any("steps[6].goto: no step 'the-end'" in p for p in problems(copy))


def test_a_step_every_lead_jumps_over_is_refused_as_unreachable(copy: Path) -> None:
    # An email with no condition goes to every lead, so its goto is always followed.
    edit(
        copy,
        "  - key: nerve-or-muscle\n",
        "  - key: nerve-or-muscle\n    goto: how-pt-finds-cause\n",
    )
    assert any(
        "steps[6]: sms-anatomy-short is on no lead's path: nerve-or-muscle always jumps over it"
        in p
        for p in problems(copy)
    )


def test_a_goto_on_a_branch_leaves_the_steps_it_passes_for_the_other_leads(copy: Path) -> None:
    edit(copy, BRANCH, BRANCH + "    goto: treatment-options\n")
    spec = load_campaign_dir(copy).spec
    rules = rules_for(spec, "how-pt-finds-cause")
    assert rules is not None
    assert [(j.origin, j.target) for j in rules.passed_by] == [
        ("sms-anatomy-short", "treatment-options")
    ]
    assert rules_for(spec, "treatment-options") is None  # where the goto lands


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{opened: anatomy-link, clicked: anatomy-link}", "name one of"),
        ("{within: 3d}", "within needs a step to count from"),
        ("{booked: true}", "booked"),
        ("{}", "name what the lead did"),
        ("{opened: anatomy-link, within: 0m}", "within must be longer than 0m"),
        ("{openned: anatomy-link}", "openned"),
    ],
)
def test_a_malformed_condition_names_the_field(copy: Path, condition: str, message: str) -> None:
    edit(copy, "if: {not_opened: anatomy-link, within: 3d}", f"if: {condition}")
    found = problems(copy)
    assert any("campaign.yaml: steps[6].if" in p and message in p for p in found), found


def test_export_writes_the_branch_back_as_if_and_reads_it_the_same(tmp_path: Path) -> None:
    definition = load_campaign_dir(SEEDED)
    text = campaign_yaml(definition.spec)
    assert "    if:\n      not_opened: anatomy-link\n      within: 3d\n" in text
    folder = write_folder(definition, tmp_path, overwrite=False)
    assert load_campaign_dir(folder).spec == definition.spec


def test_editing_a_branching_step_in_the_console_keeps_its_condition() -> None:
    definition = load_campaign_dir(SEEDED)
    step = definition.spec.step("sms-anatomy-short")
    form = StepForm.of_step(definition, step)
    form = form.model_copy(update={"delay": "9d"})
    edited = apply_step_form(definition, step.key, form, TEMPLATES)
    assert edited.problems == [], edited.problems
    assert edited.definition is not None
    assert edited.definition.spec.step(step.key).if_ == step.if_
    assert validate_definition(edited.definition, TEMPLATES) == []
