"""The words of notices (booking, and the email confirmation of double opt-in), from
templates/booking/ and its sibling folders (Jinja).

Each email notice is one file with three blocks: `subject`, `text` and `html`. The
same file is loaded in two environments so the HTML block is autoescaped and the
subject and text blocks are not (a name like "O'Brien" stays as typed in plain text).
Text messages are `NAME.sms.j2`, one line, and carry no health details.
A notice in another language is the same name in the language's subfolder
(templates/booking/es/); where there is none, the English file is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from nurture.languages import DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class NoticeEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=16)
def _environment(
    templates_dir: Path, *, html: bool, folder: str = "booking", language: str = DEFAULT_LANGUAGE
) -> Environment:
    # Every notice shares templates/booking/_layout.html.j2, wherever its own file is.
    folders = [templates_dir / folder, templates_dir / "booking"]
    if language != DEFAULT_LANGUAGE:
        folders.insert(0, templates_dir / folder / language)
    return Environment(
        loader=FileSystemLoader(folders),
        undefined=StrictUndefined,
        autoescape=html,  # noqa: S701 - off only for the subject and plain-text blocks
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _block(template: Template, name: str, variables: dict[str, Any]) -> str:
    context = template.new_context(variables)
    return "".join(template.blocks[name](context))


def render_notice_email(
    templates_dir: Path,
    name: str,
    variables: dict[str, Any],
    folder: str = "booking",
    language: str = DEFAULT_LANGUAGE,
) -> NoticeEmail:
    """The subject, text and HTML of `FOLDER/NAME.email.j2` in `language`, the HTML inside
    the layout."""
    plain_env = _environment(templates_dir, html=False, folder=folder, language=language)
    plain = plain_env.get_template(f"{name}.email.j2")
    escaped_env = _environment(templates_dir, html=True, folder=folder, language=language)
    escaped = escaped_env.get_template(f"{name}.email.j2")
    subject = " ".join(_block(plain, "subject", variables).split())
    body_html = Markup(_block(escaped, "html", variables))  # noqa: S704 - autoescaped above
    html = escaped_env.get_template("_layout.html.j2").render(
        {**variables, "subject": subject, "body_html": body_html, "language": language}
    )
    text = _block(plain, "text", variables).strip() + "\n"
    return NoticeEmail(subject=subject, text=text, html=html)


def render_notice_sms(
    templates_dir: Path, name: str, variables: dict[str, Any], language: str = DEFAULT_LANGUAGE
) -> str:
    """The text of `NAME.sms.j2` in `language` on one line with single spaces."""
    environment = _environment(templates_dir, html=False, language=language)
    template = environment.get_template(f"{name}.sms.j2")
    return " ".join(template.render(variables).split())
