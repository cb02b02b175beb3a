"""The words of every automatic answer, from templates/replies/ (plain text, no marketing),
in the lead's language: templates/replies/es/ holds the Spanish."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from nurture.config import Settings
from nurture.languages import DEFAULT_LANGUAGE
from nurture.messages.compose import display_phone
from nurture.messages.render import Clinic


@lru_cache(maxsize=4)
def _environment(folder: Path) -> Environment:
    # Plain text for SMS and the text part of an email: nothing here is HTML.
    return Environment(  # noqa: S701 - plain text; as_html() escapes for email
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def reply_text(
    settings: Settings,
    name: str,
    channel: str,
    language: str = DEFAULT_LANGUAGE,
    **values: Any,
) -> str:
    """The answer `name` for `channel` in `language` (templates/replies/<language>/,
    English when there is no such translation), rendered with the clinic's details."""
    clinic = Clinic(
        settings.clinic_name, display_phone(settings.clinic_phone), settings.clinic_address
    )
    environment = _environment(settings.templates_dir / "replies")
    names = [f"{name}.txt.j2"]
    if language != DEFAULT_LANGUAGE:
        names.insert(0, f"{language}/{name}.txt.j2")
    template = environment.select_template(names)
    return template.render(clinic=clinic, channel=channel, **values).strip()


def as_html(text: str) -> str:
    """A plain answer as the HTML part of an email."""
    paragraphs = (escape(p).replace("\n", "<br>\n") for p in text.split("\n\n") if p.strip())
    return "\n".join(f"<p>{p}</p>" for p in paragraphs)
