"""Rendering a step for the editor's sample lead, exactly as delivery renders it."""

from __future__ import annotations

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.preview import Draft, FieldProblem, preview_step
from nurture.channel import Channel
from nurture.config import Settings
from nurture.links import read_token


def email(body: str, subject: str = "Hi {{ first_name }}", preheader: str = "") -> Draft:
    return Draft("welcome-article", Channel.EMAIL, body, subject, preheader)


def sms(body: str) -> Draft:
    return Draft("sms-hello", Channel.SMS, body)


def test_email_preview_greets_jordan_with_the_clinic_and_working_links(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    body = "Hello {{ first_name }},\n\n[Book here]({{ booking_url }}) at {{ clinic.name }}."
    preview = preview_step(seeded_definition, email(body), settings)
    assert preview.problems == []
    assert preview.subject == "Hi Jordan"
    assert "Hello Jordan," in preview.text
    assert settings.clinic_name in preview.text and settings.clinic_address in preview.text
    assert '<a href="https://care.example.test/book/' in preview.html
    token = preview.html.split("/book/", 1)[1].split('"', 1)[0]
    # A real signed link, made for a lead id that no stored lead has.
    assert read_token(settings, "book", token) == {"lead": "00000000000040008000000000000000"}


def test_sms_preview_counts_gsm7_and_extension_characters(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(seeded_definition, sms("Hi {{ first_name }} {}"), settings)
    assert preview.sms == "Hi Jordan {}"
    assert preview.segment_summary == "GSM-7 · 14 characters · 1 segment"  # { and } cost two
    assert preview.unicode_warning == ""


def test_unicode_warning_names_the_characters_including_invisible_ones(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(seeded_definition, sms("It’s\u200bhere “now”"), settings)
    assert preview.segments is not None and preview.segments.encoding == "UCS-2"
    assert preview.unicode_warning == (
        "’ U+200B (zero width space) “ ” switch the whole message to Unicode: "
        "70 characters per segment"
    )


def test_more_segments_than_the_campaign_allows_is_warned(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    fits = preview_step(seeded_definition, sms("a" * 306), settings)
    assert fits.segment_summary.endswith("2 segments") and fits.length_warning == ""
    over = preview_step(seeded_definition, sms("a" * 307), settings)
    assert (
        over.length_warning == "3 segments is more than this campaign allows (2): shorten the text"
    )


def test_syntax_errors_give_the_field_and_line(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(seeded_definition, email("Fine\n{% if first_name %}open"), settings)
    [problem] = preview.problems
    assert problem.field == "body" and problem.message.startswith("line 2:")
    assert preview.html == "" and preview.text == ""


def test_unknown_variables_are_named_with_the_ones_allowed(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(seeded_definition, email("x", subject="Hi {{ name }}"), settings)
    assert preview.problems == [
        FieldProblem(
            "subject",
            "unknown variable 'name'; you can use article_url, booking_url, clinic, first_name",
        )
    ]


def test_a_failure_while_rendering_is_reported_on_its_field(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    body_problem = preview_step(seeded_definition, sms("{{ clinic.fax }}"), settings).problems
    assert [p.field for p in body_problem] == ["body"]
    assert "fax" in body_problem[0].message
    subject = preview_step(seeded_definition, email("x", subject="{{ clinic.fax }}"), settings)
    assert [p.field for p in subject.problems] == ["subject"]


def test_an_email_without_a_subject_is_refused_on_the_subject(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(seeded_definition, email("Body", subject="  "), settings)
    assert preview.problems == [FieldProblem("subject", "an email step needs a subject")]


def test_plain_text_keeps_the_name_when_an_underscore_follows_on_the_line(
    seeded_definition: CampaignDefinition, settings: Settings
) -> None:
    preview = preview_step(
        seeded_definition, email("Hi {{ first_name }}, see snake_case."), settings
    )
    assert "Hi Jordan, see snake_case." in preview.text
