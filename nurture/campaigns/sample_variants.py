"""Which arm of each A/B test the dry run's sample lead gets, or the arm staff pick to read.

The sample lead is the preview's (nurture.campaigns.preview, never stored). Its variant
comes from `variant_for`, the dispatcher's own choice, so the dry run says what that lead
would be sent; staff pick another arm as STEP=VARIANT to read it before it goes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.preview import SAMPLE_PUBLIC_ID, Draft, Preview, preview_step
from nurture.campaigns.spec import CampaignSpec, StepSpec
from nurture.campaigns.variants import variant_for
from nurture.config import Settings

PICK_FORMAT = "STEP=VARIANT, e.g. anatomy-link=nerve-path"
BY_WEIGHT = "the sample lead's, by weight"
PICKED = "picked"
PROMOTED = "the promoted winner"


@dataclass(frozen=True, slots=True)
class ShownVariant:
    """The arm of a step's test the dry run shows, and why that one."""

    step: str
    key: str
    keys: tuple[str, ...]  # every arm of the step's test, in campaign order
    why: str  # BY_WEIGHT, PICKED or PROMOTED

    @property
    def pick(self) -> str:
        """How to ask for this arm again: 'anatomy-link=nerve-path'."""
        return f"{self.step}={self.key}"

    def label(self) -> str:
        """'variant nerve-path (the sample lead's, by weight; also anatomy)'."""
        others = ", ".join(k for k in self.keys if k != self.key)
        return f"variant {self.key} ({self.why}; also {others})"


def tested_step(spec: CampaignSpec, step_key: str) -> StepSpec:
    """The step `step_key` when it has an A/B test; ValueError naming it and those that do."""
    tested = [step.key for step in spec.steps if step.variants]
    step = next((s for s in spec.steps if s.key == step_key), None)
    if step is not None and step.variants:
        return step
    what = "has no A/B test" if step is not None else "is not a step of this campaign"
    choices = ", ".join(tested) if tested else "none"
    raise ValueError(f"{step_key!r} {what}; the steps with variants are: {choices}")


def checked_variant(step: StepSpec, variant_key: str) -> str:
    """`variant_key` when `step` has that arm; ValueError naming it and the step's arms."""
    if step.variant(variant_key) is not None:
        return variant_key
    keys = ", ".join(variant.key for variant in step.variants)
    raise ValueError(f"step {step.key!r} has no variant {variant_key!r}; its variants are: {keys}")


def parse_picks(texts: Iterable[str], spec: CampaignSpec) -> dict[str, str]:
    """'STEP=VARIANT' choices as {step key: variant key}; ValueError naming the bad one.

    Empty choices are left out: the console's "the sample lead's" option sends one."""
    picks: dict[str, str] = {}
    for text in texts:
        if not text.strip():
            continue
        step_key, equals, variant_key = text.strip().partition("=")
        if not equals or not step_key.strip() or not variant_key.strip():
            raise ValueError(f"{text!r} is not {PICK_FORMAT}")
        step = tested_step(spec, step_key.strip())
        picks[step.key] = checked_variant(step, variant_key.strip())
    return picks


def shown_variants(
    spec: CampaignSpec, picks: Mapping[str, str], winners: Mapping[str, str]
) -> dict[str, ShownVariant]:
    """The arm shown for each tested step, by step key: the one picked, else the one the
    dispatcher would write for the sample lead (a promoted winner, or its own by weight)."""
    shown: dict[str, ShownVariant] = {}
    for step in spec.steps:
        if not step.variants:
            continue
        keys = tuple(variant.key for variant in step.variants)
        picked = picks.get(step.key)
        if picked is not None:
            shown[step.key] = ShownVariant(step.key, picked, keys, PICKED)
            continue
        winner = winners.get(step.key)
        key = variant_for(step, SAMPLE_PUBLIC_ID, spec.slug, winner)
        if key is not None:
            why = PROMOTED if key == winner else BY_WEIGHT
            shown[step.key] = ShownVariant(step.key, key, keys, why)
    return shown


def written_for_sample(definition: CampaignDefinition, step: StepSpec, variant: str) -> StepSpec:
    """The step as the sample lead would receive `variant` of it (the first language)."""
    return step.written(definition.spec.language_for(None), variant)


def read_variant(
    definition: CampaignDefinition, step: StepSpec, variant: str, settings: Settings
) -> Preview:
    """`variant` of `step` rendered for the sample lead, as the editor's preview renders."""
    written = written_for_sample(definition, step, variant)
    draft = Draft(
        step.key,
        step.channel,
        definition.templates[written.template],
        written.subject or "",
        written.preheader or "",
    )
    return preview_step(definition, draft, settings)
