"""Checks a campaign must pass before it can be synced: templates, variables, SMS length."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, meta

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec
from nurture.channel import Channel
from nurture.messages.render import (
    TEMPLATE_VARIABLES,
    Clinic,
    MessageContext,
    TemplateProblem,
    render_email,
    render_sms,
)
from nurture.messages.segments import count_segments
from nurture.messages.short_links import CODE_LENGTH

# A 12-letter name and URLs as long as real ones (signed tokens are ~90 characters), so
# the SMS length check is honest.
SAMPLE_BASE_URL = "https://care.riverside-pt.example"
SAMPLE_TOKEN = "x" * 92


def sample_context(definition: CampaignDefinition) -> MessageContext:
    """The context used to check a campaign's templates before any real lead exists."""
    return MessageContext(
        first_name="Christabelle",
        clinic=Clinic("Riverside Physical Therapy", "(217) 555-0142", "120 Main Street"),
        article_url=f"{SAMPLE_BASE_URL}/articles/{definition.spec.article or 'guide'}/read",
        booking_url=f"{SAMPLE_BASE_URL}/book/{SAMPLE_TOKEN}",
        unsubscribe_url=f"{SAMPLE_BASE_URL}/unsubscribe/{SAMPLE_TOKEN}",
        preferences_url=f"{SAMPLE_BASE_URL}/preferences/{SAMPLE_TOKEN}",
    )


def sample_sms_context(sample: MessageContext) -> MessageContext:
    """A text's sample: its article and booking links are short links, as sent."""
    short = f"{SAMPLE_BASE_URL}/r/{'x' * CODE_LENGTH}"
    return replace(sample, article_url=short, booking_url=short)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "error" or "warning"
    where: str  # file and field, e.g. "campaign.yaml: steps[1].template"
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


def _syntax_and_names(env: Environment, label: str, source: str) -> list[Finding]:
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as exc:
        return [Finding("error", f"{label} line {exc.lineno}", exc.message or "syntax error")]
    unknown = sorted(meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES)
    return [
        Finding(
            "error",
            label,
            f"unknown variable {name!r}; allowed: {', '.join(sorted(TEMPLATE_VARIABLES))}",
        )
        for name in unknown
    ]


def validate_definition(definition: CampaignDefinition, templates_dir: Path) -> list[Finding]:
    """Every problem in the campaign, errors first; an empty list means it is ready.

    Each step is checked in every language the campaign writes in."""
    findings: list[Finding] = []
    spec = definition.spec
    checker = _StepChecker(definition, templates_dir)
    for index, step in enumerate(spec.steps):
        for language in spec.languages:
            fields = f"steps[{index}]"
            if language != spec.languages[0]:
                fields += f".translations.{language}"
            findings += checker.check(step.in_language(language), fields)
            # Each variant is a message of its own: checked whole, as a lead receives it.
            for number, variant in enumerate(step.variants):
                if not variant.overrides():
                    continue
                where = f"steps[{index}].variants[{number}]"
                if language != spec.languages[0]:
                    where += f".translations.{language}"
                found = checker.check(step.written(language, variant.key), where)
                findings += [f for f in found if f not in findings]
    return sorted(findings, key=lambda f: f.severity != "error")


class _StepChecker:
    """Checks a campaign's steps one language at a time, with one parser and sample."""

    def __init__(self, definition: CampaignDefinition, templates_dir: Path) -> None:
        self.definition, self.templates_dir = definition, templates_dir
        self.env = Environment(autoescape=False)  # noqa: S701 - parsing only
        self.sample = sample_context(definition)

    def check(self, step: StepSpec, fields: str) -> list[Finding]:
        """A step as written in one language: names, syntax, rendering, its segments."""
        definition, templates_dir, env = self.definition, self.templates_dir, self.env
        folder = definition.spec.slug
        label = f"{folder}/{step.template}"
        sources = [(label, definition.templates[step.template])]
        if step.subject:
            sources.append((f"{folder}/campaign.yaml: {fields}.subject", step.subject))
        if step.preheader:
            sources.append((f"{folder}/campaign.yaml: {fields}.preheader", step.preheader))
        found = [f for where, src in sources for f in _syntax_and_names(env, where, src)]
        if found:
            return found
        sample = self.sample
        try:
            if step.channel is Channel.EMAIL:
                render_email(definition, step, sample, templates_dir)
                return []
            body = render_sms(definition, step, sample_sms_context(sample))
        except TemplateProblem as exc:
            return [Finding("error", label, str(exc))]
        if step.task is not None:
            return found  # the desk's note: no carrier counts its segments
        count = count_segments(body)
        limit = definition.spec.sms_max_segments
        if count.segments > limit:
            found.append(
                Finding(
                    "error",
                    label,
                    f"{count.segments} {count.encoding} segments ({count.units} units) with a "
                    f"12-letter name; the campaign allows {limit}",
                )
            )
        if count.encoding == "UCS-2":
            chars = " ".join(repr(c) for c in count.unicode_chars)
            found.append(
                Finding("warning", label, f"{chars} switch the whole text to UCS-2 (70/segment)")
            )
        return found
