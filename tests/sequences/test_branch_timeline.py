"""The dry run follows the campaign's branches for the behaviour staff pick: each path
shows which steps go and which are skipped, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from nurture.campaigns.conditions import OPENS_EVERYTHING, Behaviour, parse_behaviour
from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.spec import CampaignSpec
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.sequences.timing import PlannedStep, plan_steps
from tests.support import REPO

CHICAGO = ZoneInfo("America/Chicago")
MONDAY_9AM = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SPEC = load_campaign_dir(REPO / "templates" / "campaigns" / "hamstring-sciatica").spec
BRANCH = "sms-anatomy-short"
CALL_BACK = "screening-call-back"


def plan(
    spec: CampaignSpec,
    settings: Settings,
    behaviour: str,
    *,
    sms: bool = True,
    start: datetime = MONDAY_9AM,
) -> dict[str, PlannedStep]:
    does = parse_behaviour(behaviour, spec)
    policy = SendingPolicy.from_settings(settings)
    steps = plan_steps(spec, start, CHICAGO, policy, phone=None, sms_consent=sms, behaviour=does)
    return {planned.step.key: planned for planned in steps}


def with_goto(origin: str, target: str) -> CampaignSpec:
    data = SPEC.model_dump(mode="json")
    next(step for step in data["steps"] if step["key"] == origin)["goto"] = target
    return CampaignSpec.model_validate(data)


def test_a_lead_who_opens_nothing_gets_the_short_text_instead(settings: Settings) -> None:
    steps = plan(SPEC, settings, "opens nothing")
    assert steps[BRANCH].skipped is None
    assert steps[BRANCH].branch == "branch taken: anatomy-link not opened within 3d"
    # Nor does this lead tap the screening link, so the desk has no call to make.
    assert [key for key, p in steps.items() if p.skipped] == [CALL_BACK]
    assert steps[CALL_BACK].skipped == "branch not taken: sms-screening-invite not clicked"


@pytest.mark.parametrize("behaviour", ["opens everything", "clicks anatomy-link"])
def test_a_lead_who_opened_the_anatomy_email_is_not_sent_the_short_text(
    settings: Settings, behaviour: str
) -> None:
    steps = plan(SPEC, settings, behaviour)
    assert steps[BRANCH].skipped == "branch not taken: opened anatomy-link on day 4"
    assert steps[BRANCH].branch is None
    assert [key for key, p in steps.items() if p.skipped] == [BRANCH, CALL_BACK]


def test_a_lead_who_taps_the_screening_text_is_on_the_desks_call_list_in_the_dry_run(
    settings: Settings,
) -> None:
    steps = plan(SPEC, settings, "clicks sms-screening-invite")
    assert steps[CALL_BACK].skipped is None
    assert steps[CALL_BACK].branch == (
        "branch taken: clicked sms-screening-invite on day 12 and has not booked"
    )


def test_the_text_frequency_cap_does_not_hold_back_the_desks_call_in_the_dry_run(
    settings: Settings,
) -> None:
    # Signed up at 02:00 on a Thursday: the screening text waits for 10:00 on day 12, and
    # the call falls due at 09:00 the next day, inside the texts' one-a-day cap. The gate
    # lets a call-back through there (a person calls, no message is sent); so does the plan.
    thursday_night = datetime(2026, 11, 5, 8, 1, tzinfo=UTC)
    steps = plan(SPEC, settings, "clicks sms-screening-invite", start=thursday_night)
    texted = steps["sms-screening-invite"].due.astimezone(CHICAGO)
    called = steps[CALL_BACK].due.astimezone(CHICAGO)
    assert (texted.day, texted.hour) == (17, 10)
    assert (called.day, called.hour, called.minute) == (18, 9, 0)
    assert not [why for why in steps[CALL_BACK].moved_by if "frequency cap" in why]


def test_clicking_another_step_leaves_the_anatomy_email_unopened(settings: Settings) -> None:
    assert plan(SPEC, settings, "clicks why-stretching-alone")[BRANCH].skipped is None


def test_without_text_consent_the_branch_is_skipped_for_consent_first(settings: Settings) -> None:
    assert plan(SPEC, settings, "opens nothing", sms=False)[BRANCH].skipped == "no sms consent"


def test_a_goto_passes_over_steps_only_on_the_path_that_sends_its_step(
    settings: Settings,
) -> None:
    spec = with_goto(BRANCH, "treatment-options")
    unopened = plan(spec, settings, "opens nothing")
    assert unopened["how-pt-finds-cause"].skipped == (
        "jumped over: sms-anatomy-short was sent, then goto treatment-options"
    )
    assert unopened["treatment-options"].skipped is None
    opened = plan(spec, settings, "opens everything")
    assert opened["how-pt-finds-cause"].skipped is None
    assert opened["how-pt-finds-cause"].branch == "on this path: sms-anatomy-short was not sent"


def test_every_step_is_offered_as_a_behaviour_and_a_typo_names_the_choices() -> None:
    assert parse_behaviour("  Opens   Everything ", SPEC) == OPENS_EVERYTHING
    assert parse_behaviour("clicks anatomy-link", SPEC) == Behaviour(
        "clicks anatomy-link", clicks=frozenset({"anatomy-link"})
    )
    with pytest.raises(ValueError, match=r"'clicks step 3' is not a behaviour.*anatomy-link"):
        parse_behaviour("clicks step 3", SPEC)
