"""A step rendered for a sample lead, exactly as delivery would render it, for the editor.

The sample lead ("Jordan") is never stored: its links are built by the same code as a
real lead's (nurture.messages.compose) so lengths and segment counts are honest.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

from jinja2 import Environment, TemplateSyntaxError, meta

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec
from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.messages.compose import message_context, tracked_context
from nurture.messages.render import (
    TEMPLATE_VARIABLES,
    TemplateProblem,
    render_email,
    render_sms,
)
from nurture.messages.segments import SegmentCount, count_segments

SAMPLE_FIRST_NAME = "Jordan"
# A fixed, well-formed public id that no stored lead has (ids are random uuid4 hex).
SAMPLE_PUBLIC_ID = "00000000000040008000000000000000"
PREVIEW_TEMPLATE = "body"
_NO_SUBJECT = "an email step needs a subject"
_PARSER = Environment(autoescape=False)  # noqa: S701 - parsing only, nothing is rendered


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """Something wrong with one form field ("body", "delay", ...), said for a person."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Draft:
    """The parts of a step the preview needs, as typed (not yet a valid StepSpec)."""

    key: str
    channel: Channel
    body: str
    subject: str = ""
    preheader: str = ""


@dataclass(frozen=True)
class Preview:
    """What a sample lead would receive, or why it cannot be rendered."""

    channel: Channel
    subject: str = ""
    html: str = ""
    text: str = ""
    sms: str = ""
    segments: SegmentCount | None = None
    max_segments: int = 0
    # The same text with its links written out in full: what short links save.
    without_short_links: SegmentCount | None = None
    problems: list[FieldProblem] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return not self.problems

    @property
    def segment_summary(self) -> str:
        """'GSM-7 · 142 characters · 1 segment'."""
        if self.segments is None:
            return ""
        count, full = self.segments, self.without_short_links
        plural = "" if count.segments == 1 else "s"
        summary = f"{count.encoding} · {count.units} characters · {count.segments} segment{plural}"
        if full is None or full.units <= count.units:
            return summary
        saved = full.segments - count.segments
        if not saved:
            return f"{summary} · short links save {full.units - count.units} characters"
        fewer = f"{saved} segment{'' if saved == 1 else 's'} fewer"
        return (
            f"{summary} · short links save {full.units - count.units} characters, {fewer} "
            f"({full.segments} with the links written out)"
        )

    @property
    def unicode_warning(self) -> str:
        """Which characters force UCS-2, and what that costs; empty for GSM-7."""
        if self.segments is None or not self.segments.unicode_chars:
            return ""
        chars = self.segments.unicode_chars
        verb = "switches" if len(chars) == 1 else "switch"
        return (
            f"{' '.join(_visible(c) for c in chars)} {verb} the whole message to Unicode: "
            "70 characters per segment"
        )

    @property
    def length_warning(self) -> str:
        """Said when the text costs more segments than the campaign allows."""
        if self.segments is None or self.segments.segments <= self.max_segments:
            return ""
        return (
            f"{self.segments.segments} segments is more than this campaign allows "
            f"({self.max_segments}): shorten the text"
        )

    def to_json(self) -> dict[str, object]:
        """The preview as the editor's script reads it."""
        count = self.segments
        return {
            "channel": self.channel.value,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "sms": self.sms,
            "segments": None
            if count is None
            else {
                "encoding": count.encoding,
                "units": count.units,
                "segments": count.segments,
                "summary": self.segment_summary,
            },
            "unicode_warning": self.unicode_warning,
            "length_warning": self.length_warning,
            "problems": [{"field": p.field, "message": p.message} for p in self.problems],
        }


def _visible(char: str) -> str:
    # A no-break space or a zero-width joiner cannot be seen: name it instead.
    if char.isprintable() and not char.isspace():
        return char
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed character').lower()})"


def sample_lead() -> Lead:
    """A lead object for rendering only; it is never added to a session."""
    return Lead(first_name=SAMPLE_FIRST_NAME, public_id=SAMPLE_PUBLIC_ID)


def headline(definition: CampaignDefinition, step: StepSpec, settings: Settings) -> str:
    """The email's subject, or the text, as the sample lead would read it (links named)."""
    # In a list of steps a link reads as which link it is, not as a long signed token.
    context = replace(
        message_context(settings, sample_lead(), definition),
        article_url="[article link]",
        booking_url="[booking link]",
        unsubscribe_url="[unsubscribe link]",
        preferences_url="[preferences link]",
    )
    try:
        if step.channel is Channel.EMAIL:
            return render_email(definition, step, context, settings.templates_dir).subject
        return render_sms(definition, step, context)
    except TemplateProblem:
        return "(this step's template cannot be rendered: open it to see why)"


def template_problems(field_name: str, source: str) -> list[FieldProblem]:
    """Syntax errors and variables a template may not use, each named for the field."""
    try:
        parsed = _PARSER.parse(source)
    except TemplateSyntaxError as exc:
        return [FieldProblem(field_name, f"line {exc.lineno}: {exc.message or 'syntax error'}")]
    allowed = ", ".join(sorted(TEMPLATE_VARIABLES))
    return [
        FieldProblem(field_name, f"unknown variable {name!r}; you can use {allowed}")
        for name in sorted(meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES)
    ]


def _render_problem(draft: Draft, exc: TemplateProblem) -> FieldProblem:
    # render.py prefixes each failure with what failed: "<key>.subject: ...", "body: ...".
    text = str(exc)
    for name in ("subject", "preheader"):
        prefix = f"{draft.key}.{name}: "
        if text.startswith(prefix):
            return FieldProblem(name, text.removeprefix(prefix))
    return FieldProblem("body", text.removeprefix(f"{PREVIEW_TEMPLATE}: "))


def preview_step(base: CampaignDefinition, draft: Draft, settings: Settings) -> Preview:
    """Render `draft` in the campaign `base` for the sample lead, as delivery would."""
    sources = [("body", draft.body)]
    if draft.channel is Channel.EMAIL:
        sources += [("subject", draft.subject), ("preheader", draft.preheader)]
        if not draft.subject.strip():
            return Preview(draft.channel, problems=[FieldProblem("subject", _NO_SUBJECT)])
    problems = [p for name, source in sources for p in template_problems(name, source)]
    if problems:
        return Preview(draft.channel, problems=problems)
    definition = CampaignDefinition(base.spec, {**base.templates, PREVIEW_TEMPLATE: draft.body})
    # Only key, channel, template, subject and preheader matter to rendering; the
    # typed delay or window may be invalid while the text is being worked on.
    step = StepSpec.model_construct(
        key=draft.key,
        delay="0m",
        channel=draft.channel,
        template=PREVIEW_TEMPLATE,
        subject=draft.subject or None,
        preheader=draft.preheader or None,
    )
    context = message_context(settings, sample_lead(), definition)
    try:
        if draft.channel is Channel.EMAIL:
            email = render_email(definition, step, context, settings.templates_dir)
            return Preview(draft.channel, subject=email.subject, html=email.html, text=email.text)
        short, _ = tracked_context(settings, sample_lead(), definition, PREVIEW_TEMPLATE)
        body = render_sms(definition, step, short)
        full_length = render_sms(definition, step, context)
    except TemplateProblem as exc:
        return Preview(draft.channel, problems=[_render_problem(draft, exc)])
    return Preview(
        draft.channel,
        sms=body,
        segments=count_segments(body),
        max_segments=base.spec.sms_max_segments,
        without_short_links=count_segments(full_length),
    )
