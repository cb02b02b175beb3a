"""POST /api/leads: the lead-capture API for websites and automation tools.

Order of checks: the key (if any), the rate limit, then the body; so a flood is turned
away before its bodies are parsed. Every refusal stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse

from nurture.clock import Clock
from nurture.config import Settings
from nurture.leads.api_keys import find_key
from nurture.leads.articles import UnknownArticle, load_article
from nurture.leads.capture import record_download
from nurture.leads.submission import LeadSubmission
from nurture.locations.directory import UnknownLocation
from nurture.web.api_body import InvalidRequest, honeypot_filled, normalise, read_body
from nurture.web.api_schema import REQUEST_BODY, RESPONSES, LeadCaptured
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.metrics import count_refusal
from nurture.web.throttle import client_ip, throttle

log = logging.getLogger(__name__)
NO_SUCH_LOCATION = "no location has this name; leave it out to use the nearest clinic"

router = APIRouter(prefix="/api", tags=["leads"])
KEY_HEADER = "X-API-Key"


def invalid_request_response(
    errors: list[dict[str, str]], status_code: int = 422, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The body every refusal has: {"errors": [{"field", "message"}]}."""
    return JSONResponse({"errors": errors}, status_code=status_code, headers=headers)


def _submission(body: dict[str, Any], settings: Settings) -> LeadSubmission:
    data = normalise(body)
    errors: list[dict[str, str]] = []
    submission = None
    try:
        submission = LeadSubmission.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(part) for part in error["loc"]) or "body",
                "message": error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors(include_url=False, include_input=False)
        ]
    article = data.get("article")
    if isinstance(article, str) and not any(e["field"] == "article" for e in errors):
        try:
            load_article(settings.templates_dir, article.strip())
        except UnknownArticle:
            errors.append({"field": "article", "message": "no article has this slug"})
    if errors or submission is None:
        raise InvalidRequest(errors)
    return submission


def _given_key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else None
    return key


def _caller(request: Request, session: Session, clock: Clock, settings: Settings) -> str:
    """Who is posting: 'key:<name>' or 'ip:<address>'; InvalidRequest (401) if not allowed."""
    given = _given_key(request)
    if given is None:
        if settings.lead_api_requires_key:
            raise InvalidRequest([{"field": KEY_HEADER, "message": "an API key is required"}])
        return f"ip:{client_ip(request)}"
    with session.begin():
        key = find_key(session, given, clock.now())
        name = key.name if key else None
    if name is None:
        count_refusal(request, "lead-api", "key")
        raise InvalidRequest([{"field": KEY_HEADER, "message": "unknown or revoked API key"}])
    return f"key:{name}"


@router.post(
    "/leads",
    status_code=201,
    response_model=LeadCaptured,
    responses=RESPONSES,
    openapi_extra={"requestBody": REQUEST_BODY},
    summary="Capture a lead",
)
async def create_lead(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> JSONResponse:
    """Capture a lead: 201 when new, 200 when the email was already known."""
    try:
        caller = _caller(request, session, clock, settings)
    except InvalidRequest as exc:
        return invalid_request_response(exc.errors, 401)
    rate = settings.api_key_rate_limit if caller.startswith("key:") else settings.capture_rate_limit
    refusal = throttle(request).hit(rate, "lead-api", caller)
    if refusal is not None:
        count_refusal(request, "lead-api", "rate-limit")
        message = f"too many leads from this caller; try again in {refusal.retry_after} s"
        return invalid_request_response(
            [{"field": "body", "message": message}],
            429,
            {"Retry-After": str(refusal.retry_after)},
        )
    body = await read_body(request)
    if honeypot_filled(body):
        log.info("lead API: honeypot filled by %s; nothing stored", caller.split(":")[0])
        count_refusal(request, "lead-api", "honeypot")
        return JSONResponse({"accepted": True}, status_code=202)
    submission = _submission(body, settings)
    source = f"api:{submission.article}" if caller.startswith("ip:") else f"api:{caller}"
    evidence = request_evidence(request, source)
    try:
        result = record_download(session, submission, evidence, clock.now(), settings)
    except UnknownLocation:
        # Rolled back whole: a lead with a clinic we do not have is not half-stored.
        return invalid_request_response([{"field": "location", "message": NO_SUCH_LOCATION}])
    answer = LeadCaptured(
        lead_id=result.lead_public_id,
        enrolled=result.enrolled,
        created=result.created,
        confirmation_sent=result.confirmation_sent,
    )
    return JSONResponse(answer.model_dump(), status_code=201 if result.created else 200)
