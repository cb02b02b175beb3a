"""A campaign written in more than one language: each step in each declared language,
checked whole, and each lead written to in theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nurture.campaigns.archive import unpack_campaign
from nurture.campaigns.definition import (
    CampaignFileError,
    load_campaign_dir,
)
from nurture.campaigns.editing.form import StepForm, apply_step_form
from nurture.campaigns.exchange import export_zip
from nurture.campaigns.validate import validate_definition
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.messages.compose import compose_email, compose_sms

CAMPAIGN = """\
slug: bilingual
name: "Bilingual"
article: tight-hamstrings-sciatic-nerve
languages: [en, es]
steps:
  - key: welcome
    delay: 0m
    channel: email
    template: welcome.md.j2
    subject: "{{ first_name }}, your guide"
    translations:
      es: {template: welcome.es.md.j2, subject: "{{ first_name }}, su guía"}
  - key: hello
    delay: 2h
    channel: sms
    template: hello.txt.j2
    translations:
      es: {template: hello.es.txt.j2}
"""
TEMPLATES = {
    "welcome.md.j2": "Hi {{ first_name }}, here is the guide: {{ article_url }}",
    "welcome.es.md.j2": "Hola, {{ first_name }}: aquí tiene la guía: {{ article_url }}",
    "hello.txt.j2": "{{ clinic.name }}: hi {{ first_name }}! Reply STOP to opt out.",
    "hello.es.txt.j2": (
        "{{ clinic.name }}: ¡hola, {{ first_name }}! Responda PARAR para no recibir más."
    ),
}


def write(folder: Path, campaign: str = CAMPAIGN, **changes: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.yaml").write_text(campaign)
    for name, text in {**TEMPLATES, **changes}.items():
        if text is not None:
            (folder / name).write_text(text)
    return folder


def reader(language: str | None) -> Lead:
    return Lead(
        id=1,
        public_id="0" * 32,
        email="lucia@example.com",
        first_name="Lucía",
        phone="+12175550199",
        language=language,
        source="test",
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
    )


def test_each_lead_gets_the_campaign_in_their_language(tmp_path: Path, settings: Settings) -> None:
    definition = load_campaign_dir(write(tmp_path / "bilingual"))
    welcome, hello = definition.spec.steps
    spanish, _ = compose_email(settings, reader("es"), definition, welcome, "r1")
    english, _ = compose_email(settings, reader("en"), definition, welcome, "r1")
    assert (spanish.subject, english.subject) == ("Lucía, su guía", "Lucía, your guide")
    assert "aquí tiene la guía" in spanish.text and "here is the guide" in english.text
    text, _ = compose_sms(settings, reader("es"), definition, hello, "r2")
    assert "¡hola, Lucía!" in text.body and "PARAR" in text.body


def test_a_lead_in_a_language_the_campaign_does_not_write_gets_its_first(
    tmp_path: Path, settings: Settings
) -> None:
    english = "\n".join(
        line
        for line in CAMPAIGN.splitlines()
        if not line.startswith(("languages:", "    translations:", "      es:"))
    )
    english_only = write(tmp_path / "plain", english + "\n")
    definition = load_campaign_dir(english_only)
    email, _ = compose_email(settings, reader("es"), definition, definition.spec.steps[0], "r")
    assert email.subject == "Lucía, your guide"


def test_a_step_without_a_declared_language_is_refused_naming_the_step_and_field(
    tmp_path: Path,
) -> None:
    missing = CAMPAIGN.replace("    translations:\n      es: {template: hello.es.txt.j2}\n", "")
    with pytest.raises(CampaignFileError) as refused:
        load_campaign_dir(write(tmp_path / "bilingual", missing))
    assert "steps[1].translations.es: missing; the campaign declares es in languages" in str(
        refused.value.problems
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("languages: [en, fr]", "languages: we write in en, es, not 'fr'"),
        ("languages: [en]", "steps[0].translations.es: es is not one of the campaign's"),
    ],
)
def test_languages_the_campaign_does_not_write_in_are_refused(
    tmp_path: Path, change: str, expected: str
) -> None:
    with pytest.raises(CampaignFileError) as refused:
        load_campaign_dir(write(tmp_path / "c", CAMPAIGN.replace("languages: [en, es]", change)))
    assert expected in str(refused.value.problems)


def test_a_missing_translation_file_is_named(tmp_path: Path) -> None:
    folder = write(tmp_path / "bilingual", **{"hello.es.txt.j2": None})
    with pytest.raises(CampaignFileError) as refused:
        load_campaign_dir(folder)
    assert "steps[1].translations.es.template: hello.es.txt.j2 not found" in str(
        refused.value.problems
    )


def test_validation_checks_every_language_of_every_step(tmp_path: Path, settings: Settings) -> None:
    folder = write(tmp_path / "bilingual", **{"hello.es.txt.j2": "Hola {{ nombre }}"})
    findings = validate_definition(load_campaign_dir(folder), settings.templates_dir)
    assert [(f.severity, f.where) for f in findings] == [("error", "bilingual/hello.es.txt.j2")]
    assert "nombre" in findings[0].message


def test_a_text_with_spanish_accents_is_warned_about_in_its_own_file(
    tmp_path: Path, settings: Settings
) -> None:
    findings = validate_definition(load_campaign_dir(write(tmp_path / "b")), settings.templates_dir)
    assert [(f.severity, f.where) for f in findings] == [("warning", "bilingual/hello.es.txt.j2")]
    assert "'á'" in findings[0].message and "UCS-2" in findings[0].message


def test_editing_a_step_in_the_console_keeps_its_translations(
    tmp_path: Path, settings: Settings
) -> None:
    definition = load_campaign_dir(write(tmp_path / "bilingual"))
    form = StepForm(delay="3h", channel="sms", body=TEMPLATES["hello.txt.j2"])
    edit = apply_step_form(definition, "hello", form, settings.templates_dir)
    assert edit.definition is not None, edit.problems
    hello = edit.definition.spec.step("hello")
    assert hello.delay == "3h" and hello.translations["es"].template == "hello.es.txt.j2"
    assert edit.definition.templates["hello.es.txt.j2"] == TEMPLATES["hello.es.txt.j2"]


def test_export_and_import_keep_every_language(tmp_path: Path) -> None:
    definition = load_campaign_dir(write(tmp_path / "bilingual"))
    again = load_campaign_dir(unpack_campaign(export_zip(definition), tmp_path / "unpacked"))
    assert again.checksum() == definition.checksum()
    assert again.templates["welcome.es.md.j2"] == TEMPLATES["welcome.es.md.j2"]


def test_a_campaign_in_one_language_keeps_its_checksum(tmp_path: Path) -> None:
    # The new optional fields are left out of the checksum at their defaults, so a
    # campaign stored before them is not seen as changed.
    english = "\n".join(
        line
        for line in CAMPAIGN.splitlines()
        if not line.startswith(("languages:", "    translations:", "      es:"))
    )
    definition = load_campaign_dir(write(tmp_path / "plain", english + "\n"))
    dumped = definition.spec.model_dump(mode="json", exclude_defaults=True)
    assert "languages" not in dumped
    assert all("translations" not in step for step in dumped["steps"])
