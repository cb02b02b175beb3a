"""A/B variants in `nurture campaigns timeline` and `preview`: which arm the sample lead
gets (the dispatcher's own choice), another arm read on request, a bad one named."""

from __future__ import annotations

import pytest

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.preview import SAMPLE_PUBLIC_ID
from nurture.campaigns.variants import variant_for
from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry

SLUG = "hamstring-sciatica"
TESTED = "anatomy-link"
TIMELINE = ("campaigns", "timeline", SLUG, "--start", "2026-11-02T09:00")


def _sample_leads_arm(definition: CampaignDefinition) -> tuple[str, str]:
    """(the arm the dispatcher would write for the sample lead, the other arm)."""
    step = definition.spec.step(TESTED)
    own = variant_for(step, SAMPLE_PUBLIC_ID, SLUG)
    assert own is not None
    other = next(v.key for v in step.variants if v.key != own)
    return own, other


def _subject(definition: CampaignDefinition, arm: str) -> str:
    subject = definition.spec.step(TESTED).written("en", arm).subject
    assert subject is not None
    return subject


def test_dry_run_shows_which_subject_the_sample_lead_gets(
    nurture: Invoke, seeded_definition: CampaignDefinition
) -> None:
    own, other = _sample_leads_arm(seeded_definition)
    entry = timeline_entry(succeeded(nurture(*TIMELINE)), TESTED)
    assert f"variant {own} (the sample lead's, by weight; also {other})" in entry
    assert f"subject: {_subject(seeded_definition, own)}" in entry
    # A step without a test says nothing about variants.
    assert "variant" not in timeline_entry(succeeded(nurture(*TIMELINE)), "nerve-or-muscle")


def test_dry_run_shows_the_subject_of_the_variant_picked(
    nurture: Invoke, seeded_definition: CampaignDefinition
) -> None:
    own, other = _sample_leads_arm(seeded_definition)
    output = succeeded(nurture(*TIMELINE, "--variant", f"{TESTED}={other}"))
    entry = timeline_entry(output, TESTED)
    assert f"variant {other} (picked; also {own})" in entry
    assert f"subject: {_subject(seeded_definition, other)}" in entry
    assert _subject(seeded_definition, own) not in entry


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (
            f"{TESTED}=nerve",
            f"--variant step '{TESTED}' has no variant 'nerve'; its variants are: "
            "anatomy, nerve-path",
        ),
        (
            "sms-hello=anatomy",
            f"--variant 'sms-hello' has no A/B test; the steps with variants are: {TESTED}",
        ),
        ("anatomy-lnk=anatomy", "--variant 'anatomy-lnk' is not a step of this campaign"),
        ("nerve-path", "--variant 'nerve-path' is not STEP=VARIANT"),
    ],
)
def test_dry_run_refuses_a_bad_variant_naming_it(nurture: Invoke, pick: str, message: str) -> None:
    assert message in failed_cleanly(nurture(*TIMELINE, "--variant", pick))


def test_preview_renders_the_sample_leads_variant_or_the_one_asked_for(
    nurture: Invoke, seeded_definition: CampaignDefinition
) -> None:
    own, other = _sample_leads_arm(seeded_definition)
    preview = ("campaigns", "preview", SLUG, TESTED)
    default = succeeded(nurture(*preview))
    assert f"A/B test: variant {own} (the sample lead's, by weight" in default
    assert f"Subject: {_subject(seeded_definition, own)}" in default
    picked = succeeded(nurture(*preview, "--variant", other))
    assert f"A/B test: variant {other} (picked" in picked
    assert f"Subject: {_subject(seeded_definition, other)}" in picked
    refused = failed_cleanly(nurture(*preview, "--variant", "control"))
    assert f"step '{TESTED}' has no variant 'control'" in refused
