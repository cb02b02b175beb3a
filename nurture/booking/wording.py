"""The words of notices (booking, and the email confirmation of double opt-in), from
templates/booking/ and its sibling folders (Jinja).

Each email notice is one file with three blocks: `subject`, `text` and `html`. The
same file is loaded in two environments so the HTML block is autoescaped and the
subject and text blocks are not (a name like "O'Brien" stays as typed in plain text).
Text messages are `NAME.sms.j2`, one line, and carry no health details.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class NoticeEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=8)
def _environment(templates_dir: Path, *, html: bool, folder: str = "booking") -> Environment:
    # Every notice shares templates/booking/_layout.html.j2, wherever its own file is.
    return Environment(
        loader=FileSystemLoader([templates_dir / folder, templates_dir / "booking"]),
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
    templates_dir: Path, name: str, variables: dict[str, Any], folder: str = "booking"
) -> NoticeEmail:
    """The subject, text and HTML of `FOLDER/NAME.email.j2`, the HTML inside the layout."""
    plain = _environment(templates_dir, html=False, folder=folder).get_template(f"{name}.email.j2")
    escaped_env = _environment(templates_dir, html=True, folder=folder)
    escaped = escaped_env.get_template(f"{name}.email.j2")
    subject = " ".join(_block(plain, "subject", variables).split())
    body_html = Markup(_block(escaped, "html", variables))  # noqa: S704 - autoescaped above
    html = escaped_env.get_template("_layout.html.j2").render(
        {**variables, "subject": subject, "body_html": body_html}
    )
    text = _block(plain, "text", variables).strip() + "\n"
    return NoticeEmail(subject=subject, text=text, html=html)


def render_notice_sms(templates_dir: Path, name: str, variables: dict[str, Any]) -> str:
    """The text of `NAME.sms.j2` on one line with single spaces."""
    template = _environment(templates_dir, html=False).get_template(f"{name}.sms.j2")
    return " ".join(template.render(variables).split())
