"""Turn a step's template into the exact email or SMS a lead receives.

Email steps are Markdown with Jinja variables: the HTML part comes from Markdown
(raw HTML disabled, values escaped), the text part from the same source with the
Markdown markup taken out. Both are wrapped in `templates/email/layout.*.j2`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
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

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec

# The only names a step template may use; validation rejects any other.
TEMPLATE_VARIABLES = frozenset({"first_name", "clinic", "article_url", "booking_url"})
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
# Values put back after the Markdown is taken out, so they are never read as markup.
# The markers hold no underscore or asterisk, which the emphasis rules would eat.
_MARKED = {"first_name": "\x00N\x00", "article_url": "\x00A\x00", "booking_url": "\x00B\x00"}
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
    )


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def _step_variables(context: MessageContext, *, markdown_safe: bool) -> dict[str, Any]:
    values = asdict(context)
    if markdown_safe:
        # A name like "[x](https://evil)" must stay text, not become a link.
        values["first_name"] = _MARKDOWN_SPECIALS.sub(r"\\\1", context.first_name)
    return {k: values[k] for k in TEMPLATE_VARIABLES}


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


def render_email(
    definition: CampaignDefinition, step: StepSpec, context: MessageContext, templates_dir: Path
) -> RenderedEmail:
    """The subject, plain-text and HTML parts of an email step."""
    env = _step_environment(definition)
    plain = _step_variables(context, markdown_safe=False)
    subject = _render_string(env, f"{step.key}.subject", step.subject or "", plain)
    subject = " ".join(subject.split())
    preheader = _render_string(env, f"{step.key}.preheader", step.preheader or "", plain)
    body_text = markdown_to_text(_render(env, step.template, {**plain, **_MARKED}))
    for name, mark in _MARKED.items():
        body_text = body_text.replace(mark, plain[name])
    body_html = _markdown.render(
        _render(env, step.template, _step_variables(context, markdown_safe=True))
    )
    layouts = _layout_environment(templates_dir)
    frame = {
        **asdict(context),
        "clinic": context.clinic,
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
    body = _render(env, step.template, _step_variables(context, markdown_safe=False))
    return " ".join(body.split())
