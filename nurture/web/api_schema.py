"""The lead-capture API as integrators read it: request and response models, and the
OpenAPI document served at /api/openapi.json (the public API only, never the console)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

DESCRIPTION = """\
Capture a prospect who downloaded one of the clinic's articles, exactly as the site's own
form does: the lead, the consent they gave (with the wording, time, IP and browser), and
their enrollment in the article's campaign.

Send a JSON object, or form fields (`application/x-www-form-urlencoded` or
`multipart/form-data`). Consent is a `consent` object or the flat fields `consent_email`
and `consent_sms` (true/false, yes/no, on/off, 1/0). Email consent is required.

**Keys.** Server-to-server callers send `X-API-Key: nrt_…` (or `Authorization: Bearer
nrt_…`), created with `nurture api-keys create NAME`. Without a key, each IP may post a
few leads a minute (CAPTURE_RATE_LIMIT); with one, the key has its own rate. When
LEAD_API_REQUIRES_KEY is set, posts without a key are refused.

**Bots.** `website` is a honeypot: leave it out or empty. A post that fills it is answered
202 and nothing is stored.
"""


class ConsentIn(BaseModel):
    email: bool = Field(False, description="Agreed to the clinic's educational emails.")
    sms: bool = Field(False, description="Agreed to text messages (needs `phone`).")


class LeadRequest(BaseModel):
    """One prospect, as a form or tool sends it."""

    article: str = Field(examples=["tight-hamstrings-sciatic-nerve"], description="Article slug.")
    first_name: str = Field(max_length=100, examples=["Dana"])
    email: str = Field(max_length=320, examples=["dana@example.com"])
    phone: str | None = Field(None, description="A mobile number; US numbers may omit +1.")
    timezone: str | None = Field(None, examples=["America/Chicago"], description="IANA zone.")
    language: str | None = Field(
        None, examples=["es"], description="Language to write in: en or es (es-MX reads as es)."
    )
    location: str | None = Field(
        None,
        examples=["northside"],
        description="The clinic's location slug; left out, the nearest by ZIP or area code.",
    )
    zip_code: str | None = Field(None, examples=["62704"], description="US ZIP code.")
    consent: ConsentIn | None = None
    consent_email: bool | None = Field(None, description="Flat alternative to consent.email.")
    consent_sms: bool | None = Field(None, description="Flat alternative to consent.sms.")
    website: str | None = Field(None, description="Honeypot: leave empty.")


class LeadCaptured(BaseModel):
    lead_id: str = Field(description="The lead's public id (never the email).")
    enrolled: bool = Field(description="False when already enrolled, or no campaign is active.")
    created: bool = Field(description="True for a new lead (201), False for a known one (200).")
    confirmation_sent: bool = Field(
        False, description="The campaign asks for double opt-in: an email to confirm was sent."
    )


class Accepted(BaseModel):
    accepted: bool = True


class FieldError(BaseModel):
    field: str
    message: str


class Errors(BaseModel):
    errors: list[FieldError]


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": LeadCaptured, "description": "A known lead; details refreshed."},
    202: {"model": Accepted, "description": "The honeypot was filled: nothing stored."},
    401: {"model": Errors, "description": "Unknown or revoked key, or a key is required."},
    413: {"model": Errors, "description": "The body is too large."},
    422: {"model": Errors, "description": "Each bad field, named; nothing stored."},
    429: {"model": Errors, "description": "Too many posts; see the Retry-After header."},
}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
REQUEST_BODY = {
    "required": True,
    "content": {
        media: {"schema": {"$ref": "#/components/schemas/LeadRequest"}}
        for media in ("application/json", *FORM_TYPES)
    },
}


def public_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the routes marked for it (the lead-capture API)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="Nurture lead capture API",
        version=version("nurture"),
        description=DESCRIPTION,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    request = LeadRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(request.pop("$defs", {}))
    components["LeadRequest"] = request
    app.openapi_schema = schema
    return schema
