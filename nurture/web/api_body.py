"""The lead-capture API's request body, in the shapes a website or an automation tool
sends: a JSON object, or form fields (urlencoded or multipart, as Zapier-style tools
post them). Consent may be a `consent` object or flat `consent_email` / `consent_sms`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

# What a ticked box or a spreadsheet cell says for "yes" (and HTML checkboxes send "on").
YES = frozenset({"true", "yes", "y", "on", "1"})
NO = frozenset({"false", "no", "n", "off", "0", ""})
FLAT_CONSENT = {"consent_email": "email", "consent_sms": "sms"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InvalidRequest(Exception):
    """A request the API refuses, with one entry per bad field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _refuse(field: str, message: str) -> InvalidRequest:
    return InvalidRequest([{"field": field, "message": message}])


async def read_body(request: Request) -> dict[str, Any]:
    """The body as one flat-or-nested object, whatever shape it came in."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        return await _form(request)
    try:
        data = json.loads(await request.body())
    # RecursionError: a body nested thousands of levels deep is refused, not a crash.
    except (ValueError, RecursionError):  # ValueError: invalid JSON or invalid UTF-8
        data = None
    if not isinstance(data, dict):
        raise _refuse("body", "the body must be a JSON object")
    return data


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    try:
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                raise _refuse(name, "files are not accepted here")
            if name in fields:
                raise _refuse(name, "is given more than once")
            fields[name] = value
        return fields
    finally:
        await form.close()


def _yes_no(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in YES | NO:
        return value.strip().lower() in YES
    raise _refuse(field, "must be true or false (or yes/no)")


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """Flat consent fields folded into `consent`; the honeypot and key fields taken out."""
    data = {k: v for k, v in body.items() if k not in FLAT_CONSENT and k != "website"}
    flat = {FLAT_CONSENT[k]: _yes_no(k, v) for k, v in body.items() if k in FLAT_CONSENT}
    if flat and "consent" in body:
        raise _refuse("consent", "give either a consent object or consent_email/consent_sms")
    if flat:
        data["consent"] = flat
    return data


def honeypot_filled(body: dict[str, Any]) -> bool:
    """True when the hidden `website` field has anything in it: people never see it."""
    value = body.get("website")
    return bool(value.strip()) if isinstance(value, str) else value is not None
