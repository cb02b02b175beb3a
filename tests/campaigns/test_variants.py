"""A/B variants in campaign-as-code: what a step's test may say, refused naming file and
field when it is wrong, kept through export and the step editor; and the stable,
weighted choice of a lead's variant."""

from __future__ import annotations

import hashlib
from math import sqrt
from pathlib import Path

import pytest

from nurture.campaigns.definition import CampaignDefinition, CampaignFileError, load_campaign_dir
from nurture.campaigns.editing.form import StepForm, apply_step_form
from nurture.campaigns.exchange import campaign_yaml, write_folder
from nurture.campaigns.spec import StepSpec
from nurture.campaigns.validate import validate_definition
from nurture.campaigns.variants import assign_variant, variant_for
from nurture.config import Settings

CAMPAIGN = """\
slug: ab
name: "A/B"
languages: [en, es]
steps:
  - key: welcome
    delay: 0m
    channel: email
    template: welcome.md.j2
    subject: "{{ first_name }}, your guide"
    translations:
      es: {template: welcome.es.md.j2, subject: "{{ first_name }}, su guía"}
    variants:
{variants}
  - key: hello
    delay: 2h
    channel: sms
    template: hello.txt.j2
    translations:
      es: {template: hello.es.txt.j2}
"""
GOOD_VARIANTS = """\
      - key: guide
        weight: 3
      - key: nerve
        weight: 1
        subject: "Your sciatic nerve, {{ first_name }}"
        template: welcome-nerve.md.j2
        translations:
          es:
            subject: "Su nervio ciático, {{ first_name }}"
            template: welcome-nerve.es.md.j2
    promote: {metric: clicks, min_sample: 200, confidence: 0.99}
"""
TEMPLATES = {
    "welcome.md.j2": "Hi {{ first_name }}, here is the guide: {{ article_url }}",
    "welcome.es.md.j2": "Hola, {{ first_name }}: aquí tiene la guía: {{ article_url }}",
    "welcome-nerve.md.j2": "The sciatic nerve runs from your low back to your calves.",
    "welcome-nerve.es.md.j2": "El nervio ciático va de la zona lumbar a las pantorrillas.",
    "hello.txt.j2": "{{ clinic.name }}: hi {{ first_name }}! Reply STOP to opt out.",
    "hello.es.txt.j2": "{{ clinic.name }}: ¡hola! Responda PARAR para no recibir más.",
}


def write(folder: Path, variants: str = GOOD_VARIANTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.yaml").write_text(CAMPAIGN.replace("{variants}", variants))
    for name, text in TEMPLATES.items():
        (folder / name).write_text(text)
    return folder


def lead_ids(count: int) -> list[str]:
    """A fixed set of ids shaped like real public ids (32 hex characters)."""
    return [hashlib.md5(f"lead {n}".encode()).hexdigest() for n in range(count)]


def test_a_step_with_variants_loads_and_each_variant_reads_in_each_language(
    tmp_path: Path,
) -> None:
    definition = load_campaign_dir(write(tmp_path / "ab"))
    step = definition.spec.step("welcome")
    assert [(v.key, v.weight) for v in step.variants] == [("guide", 3), ("nerve", 1)]
    assert step.written("en", "guide").subject == "{{ first_name }}, your guide"
    assert step.written("es", "guide").template == "welcome.es.md.j2"
    assert step.written("en", "nerve").subject == "Your sciatic nerve, {{ first_name }}"
    assert step.written("es", "nerve").template == "welcome-nerve.es.md.j2"
    assert step.written("es", "nerve").subject == "Su nervio ciático, {{ first_name }}"
    # A variant's own template files are loaded with the campaign's.
    assert "welcome-nerve.es.md.j2" in definition.templates


BAD_VARIANTS = [
    (
        "      - key: a\n        weight: 1\n        colour: red\n"
        "      - key: b\n        weight: 1\n",
        "steps[0].variants[0].colour",
        "Extra inputs are not permitted",
    ),
    (
        "      - key: a\n        weight: 0\n      - key: b\n        weight: 1\n",
        "steps[0].variants[0].weight",
        "greater than 0",
    ),
    (
        "      - key: a\n        weight: 1\n      - key: a\n        weight: 2\n",
        "steps[0]",
        "variants[1].key 'a' is used twice",
    ),
    (
        "      - key: a\n        weight: 1\n      - key: b\n        weight: 1\n"
        '        subject: "Another subject"\n',
        "(top level)",
        "steps[0].variants[1].translations.es: missing",
    ),
    (
        "      - key: a\n        weight: 1\n",
        "steps[0]",
        "at least two variants",
    ),
    (
        "      - key: a\n        weight: 1\n      - key: b\n        weight: 1\n"
        "    promote: {metric: replies, min_sample: 10}\n",
        "steps[0].promote.metric",
        "'clicks', 'opens' or 'bookings'",
    ),
]


@pytest.mark.parametrize(("variants", "field", "says"), BAD_VARIANTS)
def test_a_wrong_variant_is_refused_naming_the_file_and_field(
    tmp_path: Path, variants: str, field: str, says: str
) -> None:
    folder = write(tmp_path / "ab", variants)
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_dir(folder)
    [problem] = caught.value.problems
    assert problem.startswith(f"{folder / 'campaign.yaml'}: {field}: ")
    assert says in problem


def test_a_variant_template_that_is_missing_is_named_by_its_field(tmp_path: Path) -> None:
    folder = write(tmp_path / "ab")
    (folder / "welcome-nerve.es.md.j2").unlink()
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_dir(folder)
    assert caught.value.problems == [
        f"{folder / 'campaign.yaml'}: steps[0].variants[1].translations.es.template: "
        "welcome-nerve.es.md.j2 not found"
    ]


def test_a_variant_subject_with_an_unknown_variable_is_found_by_validation(
    tmp_path: Path, settings: Settings
) -> None:
    folder = write(tmp_path / "ab", GOOD_VARIANTS.replace("Your sciatic", "{{ nickname }}"))
    findings = validate_definition(load_campaign_dir(folder), settings.templates_dir)
    errors = [f for f in findings if f.severity == "error"]
    assert [(f.where, "nickname" in f.message) for f in errors] == [
        ("ab/campaign.yaml: steps[0].variants[1].subject", True)
    ]


def test_an_exported_campaign_with_variants_loads_back_the_same(tmp_path: Path) -> None:
    definition = load_campaign_dir(write(tmp_path / "ab"))
    again = load_campaign_dir(write_folder(definition, tmp_path / "out", overwrite=False))
    assert again.spec == definition.spec
    assert again.checksum() == definition.checksum()
    assert campaign_yaml(again.spec) == campaign_yaml(definition.spec)
    assert "promote:" in campaign_yaml(again.spec)


def test_editing_a_tested_step_in_the_console_keeps_its_variants(
    tmp_path: Path, settings: Settings
) -> None:
    definition = load_campaign_dir(write(tmp_path / "ab"))
    step = definition.spec.step("welcome")
    form = StepForm.of_step(definition, step).model_copy(update={"delay": "5m"})
    edit = apply_step_form(definition, "welcome", form, settings.templates_dir)
    assert edit.problems == []
    assert edit.definition is not None
    edited = edit.definition.spec.step("welcome")
    assert edited.delay == "5m"
    assert (edited.variants, edited.promote) == (step.variants, step.promote)
    assert "welcome-nerve.es.md.j2" in edit.definition.templates


def two_variants(*weights: int) -> StepSpec:
    return StepSpec.model_validate(
        {
            "key": "welcome",
            "delay": "0m",
            "channel": "email",
            "template": "w.md.j2",
            "subject": "Hi",
            "variants": [{"key": f"v{i}", "weight": w} for i, w in enumerate(weights)],
        }
    )


# A bound that holds with probability 1 - 1e-6 for each variant's count (a binomial's
# normal approximation, Bonferroni over the variants): with a fixed set of ids the test
# gives the same answer every run, and a split that is off by a few percent fails it.
Z_ONE_IN_A_MILLION = 4.89


@pytest.mark.parametrize("weights", [(1, 1), (3, 1), (70, 20, 10)])
def test_ten_thousand_leads_split_by_the_weights_within_statistical_bounds(
    weights: tuple[int, ...],
) -> None:
    step = two_variants(*weights)
    ids = lead_ids(10_000)
    counts = dict.fromkeys((f"v{i}" for i in range(len(weights))), 0)
    for public_id in ids:
        counts[str(assign_variant(step, public_id, "hamstring-sciatica"))] += 1
    total = sum(weights)
    for index, weight in enumerate(weights):
        share = weight / total
        expected = len(ids) * share
        spread = sqrt(len(ids) * share * (1 - share))
        assert abs(counts[f"v{index}"] - expected) <= Z_ONE_IN_A_MILLION * spread, counts
    # The bound is tight enough to mean something: 2 points off on 10,000 is outside it.
    assert Z_ONE_IN_A_MILLION * sqrt(10_000 * 0.25) < 0.03 * 10_000


def test_a_lead_gets_the_same_variant_on_every_call_and_independently_per_step() -> None:
    step = two_variants(1, 1)
    other = step.model_copy(update={"key": "reminder"})
    ids = lead_ids(2_000)
    first = [assign_variant(step, i, "hamstring-sciatica") for i in ids]
    assert first == [assign_variant(step, i, "hamstring-sciatica") for i in ids]
    # Another step's test splits the same leads afresh (about half agree, not all).
    again = [assign_variant(other, i, "hamstring-sciatica") for i in ids]
    agree = sum(a == b for a, b in zip(first, again, strict=True))
    assert 800 < agree < 1200


def test_a_promoted_winner_is_chosen_for_everyone_while_the_step_still_has_it() -> None:
    step = two_variants(1, 1)
    ids = lead_ids(200)
    assert {variant_for(step, i, "c", "v1") for i in ids} == {"v1"}
    # A winner the step no longer has (the campaign was edited) falls back to the weights.
    assert {variant_for(step, i, "c", "gone") for i in ids} == {"v0", "v1"}
    assert variant_for(step.model_copy(update={"variants": []}), ids[0], "c", "v1") is None


def test_the_seeded_campaign_tests_two_subjects_in_both_languages(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    step = seeded_definition.spec.step("anatomy-link")
    subjects = {
        (language, v.key): step.written(language, v.key).subject
        for v in step.variants
        for language in ("en", "es")
    }
    assert len(set(subjects.values())) == 4
    assert step.promote is not None and step.promote.metric == "clicks"
    assert validate_definition(seeded_definition, settings.templates_dir) == []
