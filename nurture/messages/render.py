"""Turn a step's template into the exact email or SMS a lead receives.

Email steps are Markdown with Jinja variables: the HTML part comes from Markdown
(raw HTML disabled, values escaped), the text part from the same source with the
Markdown markup taken out. Both are wrapped in `templates/email/layout.*.j2`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    select_autoescape,
)
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec

# The only names a step template may use; validation rejects any other.
TEMPLATE_VARIABLES = frozenset({"first_name", "clinic", "article_url", "booking_url"})
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# Values put back after the Markdown is taken out, so they are never read as markup.
# The markers hold no underscore or asterisk, which the emphasis rules would eat.
_MARKED = {"first_name": "\x00N\x00", "article_url": "\x00A\x00", "booking_url": "\x00B\x00"}
# In the HTML part the Markdown is parsed once per step, with these marks where each
# lead's own values go (the article link too: it is a short link of each message);
# private-use characters, which Markdown reads as plain letters.
_LEAD_MARKS = {
    "first_name": "\ue000N\ue001",
    "article_url": "\ue000A\ue001",
    "booking_url": "\ue000B\ue001",
}
_STAR_EMPHASIS = re.compile(r"(\*\*|\*)(\S(?:.*?\S)?)\1")
# As in CommonMark, underscores inside a word (snake_case) are not emphasis.
_UNDERSCORE_EMPHASIS = re.compile(r"(?<!\w)(__|_)(\S(?:.*?\S)?)\1(?!\w)")
_URL = re.compile(r"(https?://\S+)")


@dataclass(frozen=True, slots=True)
class Clinic:
    name: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class MessageContext:
    first_name: str
    clinic: Clinic
    article_url: str
    booking_url: str
    unsubscribe_url: str
    preferences_url: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class TemplateProblem(ValueError):
    """A template that does not render; the message says which and why."""


def _step_environment(definition: CampaignDefinition) -> Environment:
    return definition.environment


@lru_cache(maxsize=4)
def _layout_environment(templates_dir: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir / "email"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        # Read once per process: a layout change ships with a restart, and checking each
        # file's mtime for every email costs two system calls a message.
        auto_reload=False,
    )


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_LINKED_MARKS = {name: _markdown.normalizeLink(mark) for name, mark in _LEAD_MARKS.items()}
# Characters markdown-it's link normaliser leaves alone (no %, space, quote or non-ASCII).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?")


def _step_variables(context: MessageContext) -> dict[str, Any]:
    # Built by hand: dataclasses.asdict deep-copies every value, for every message.
    return {
        "first_name": context.first_name,
        "clinic": context.clinic,
        "article_url": context.article_url,
        "booking_url": context.booking_url,
    }


def markdown_to_text(markdown: str) -> str:
    """Plain text from our Markdown: links spelled out, emphasis and heading marks dropped."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", markdown)
    # Odd pieces are URLs: their underscores and asterisks belong to the address.
    pieces = _URL.split(text)
    for index in range(0, len(pieces), 2):
        piece = _STAR_EMPHASIS.sub(r"\2", pieces[index])
        pieces[index] = _UNDERSCORE_EMPHASIS.sub(r"\2", piece)
    text = "".join(pieces)
    text = re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _render(env: Environment, name: str, variables: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(variables)
    except Exception as exc:  # any Jinja failure is a content problem, not a crash
        raise TemplateProblem(f"{name}: {exc}") from exc


@lru_cache(maxsize=512)
def _compiled(env: Environment, source: str) -> Template:
    # Subjects and preheaders are strings, not files: compile each once, not per message.
    return env.from_string(source)


def _render_string(env: Environment, label: str, source: str, variables: dict[str, Any]) -> str:
    try:
        return _compiled(env, source).render(variables)
    except Exception as exc:
        raise TemplateProblem(f"{label}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _BodyShape:
    """An email step's body with marks where a lead's values go: worked out once per step."""

    text: str  # plain text, with _MARKED marks
    html: str  # HTML, with _LEAD_MARKS marks (percent-encoded where Markdown put a link)


def _body_shape(
    definition: CampaignDefinition, step: StepSpec, context: MessageContext
) -> _BodyShape:
    key = ("email-body", step.key, step.template, context.clinic)
    shape: _BodyShape | None = definition.render_cache.get(key)
    if shape is None:
        env = _step_environment(definition)
        plain = _step_variables(context)
        text = markdown_to_text(_render(env, step.template, {**plain, **_MARKED}))
        html = _markdown.render(_render(env, step.template, {**plain, **_LEAD_MARKS}))
        shape = definition.render_cache[key] = _BodyShape(text, html)
    return shape


def _link(value: str) -> str:
    """`value` as markdown-it writes a link target (a plain ASCII URL stays as it is)."""
    return value if _PLAIN_URL.fullmatch(value) else _markdown.normalizeLink(value)


def _body_html(shape: _BodyShape, context: MessageContext) -> str:
    html = shape.html
    for name, mark in _LEAD_MARKS.items():
        value = getattr(context, name)
        # As a link target markdown-it percent-encodes the mark; as text it keeps it.
        html = html.replace(_LINKED_MARKS[name], escapeHtml(_link(value)))
        html = html.replace(mark, escapeHtml(value))
    return html


def render_email(
    definition: CampaignDefinition, step: StepSpec, context: MessageContext, templates_dir: Path
) -> RenderedEmail:
    """The subject, plain-text and HTML parts of an email step."""
    env = _step_environment(definition)
    plain = _step_variables(context)
    subject = _render_string(env, f"{step.key}.subject", step.subject or "", plain)
    subject = " ".join(subject.split())
    preheader = _render_string(env, f"{step.key}.preheader", step.preheader or "", plain)
    shape = _body_shape(definition, step, context)
    body_text = shape.text
    for name, mark in _MARKED.items():
        body_text = body_text.replace(mark, plain[name])
    body_html = _body_html(shape, context)
    layouts = _layout_environment(templates_dir)
    frame = {
        **_step_variables(context),
        "unsubscribe_url": context.unsubscribe_url,
        "preferences_url": context.preferences_url,
        "subject": subject,
        "preheader": preheader,
        "body_text": body_text,
        "body_html": body_html,
    }
    return RenderedEmail(
        subject=subject,
        text=_render(layouts, "layout.txt.j2", frame),
        html=_render(layouts, "layout.html.j2", frame),
    )


def render_sms(definition: CampaignDefinition, step: StepSpec, context: MessageContext) -> str:
    """The text of an SMS step, on one line with single spaces."""
    env = _step_environment(definition)
    body = _render(env, step.template, _step_variables(context))
    return " ".join(body.split())
