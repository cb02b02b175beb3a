"""HTML pages: one autoescaping Jinja environment, with the clinic in every page.

The clinic comes from the request's settings, so a name or phone saved on the clinic
settings page shows on the next page rendered. The page's words come in the request's
language (nurture.web.i18n).
"""

from __future__ import annotations

from typing import Any, cast

import phonenumbers
from fastapi import Request
from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined
from jinja2.bccache import Bucket
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from nurture.campaigns.spec import medium_name
from nurture.config import Settings
from nurture.messages.render import Clinic
from nurture.phones import parse_stored
from nurture.text import counted
from nurture.web.deps import request_settings
from nurture.web.i18n import page_words


def display_phone(number: str) -> str:
    """A phone number the way the clinic's neighbours write it: (217) 555-0142."""
    parsed = parse_stored(number)
    if parsed is None:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates kept for the life of the process, shared by every app it builds
    (`nurture run` with the demo, and each test's app). Jinja checks each entry against
    its template's source checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._compiled.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _ProcessBytecodeCache()


def make_templates(settings: Settings) -> Jinja2Templates:
    """The page templates under templates/web/, every value escaped."""
    environment = Environment(
        loader=FileSystemLoader(settings.templates_dir / "web"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_COMPILED,
        extensions=["jinja2.ext.i18n"],
    )
    # Each request passes its own gettext in the context (page_words), so one environment
    # serves pages in every language at once; trimmed: a message's line breaks are spaces.
    environment.policies["ext.i18n.trimmed"] = True
    environment.filters["phone"] = display_phone
    environment.filters["count"] = counted
    environment.filters["medium"] = medium_name
    return Jinja2Templates(env=environment, context_processors=[_clinic, page_words])


def as_location(request: Request, settings: Settings) -> None:
    """Render this request's pages as one location of the clinic (its name, phone and
    address in the header and footer): `settings` are that location's."""
    request.state.location_settings = settings


def _clinic(request: Request) -> dict[str, Any]:
    settings = getattr(request.state, "location_settings", None) or request_settings(request)
    return {"clinic": Clinic(settings.clinic_name, settings.clinic_phone, settings.clinic_address)}


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """The page `name` rendered with `context`."""
    templates = cast(Jinja2Templates, request.app.state.templates)
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
