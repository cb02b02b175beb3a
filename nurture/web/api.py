"""The JSON lead-capture API, for landing pages hosted elsewhere."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import JSONResponse

from nurture.config import Settings
from nurture.leads.articles import UnknownArticle, load_article
from nurture.leads.submission import LeadSubmission
from nurture.web.capture import record_download
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence

router = APIRouter(prefix="/api")


class InvalidRequest(Exception):
    """A request the API refuses, with one entry per bad field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def invalid_request_response(errors: list[dict[str, str]]) -> JSONResponse:
    """The 422 body every refusal has: {"errors": [{"field", "message"}]}."""
    return JSONResponse({"errors": errors}, status_code=422)


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, whatever Content-Type claims."""
    try:
        data = json.loads(await request.body())
    except ValueError:  # invalid JSON or invalid UTF-8
        data = None
    if not isinstance(data, dict):
        raise InvalidRequest([{"field": "body", "message": "the body must be a JSON object"}])
    return data


def _submission(body: dict[str, Any], settings: Settings) -> LeadSubmission:
    errors: list[dict[str, str]] = []
    submission = None
    try:
        submission = LeadSubmission.model_validate(body)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(part) for part in error["loc"]) or "body",
                "message": error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors(include_url=False, include_input=False)
        ]
    article = body.get("article")
    if isinstance(article, str) and not any(e["field"] == "article" for e in errors):
        try:
            load_article(settings.templates_dir, article.strip())
        except UnknownArticle:
            errors.append({"field": "article", "message": "no article has this slug"})
    if errors or submission is None:
        raise InvalidRequest(errors)
    return submission


@router.post("/leads", status_code=201)
def create_lead(
    request: Request,
    body: Annotated[dict[str, Any], Depends(json_object)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Capture a lead: 201 when new, 200 when the email was already known."""
    submission = _submission(body, settings)
    evidence = request_evidence(request, f"api:{submission.article}")
    result = record_download(session, submission, evidence, clock.now(), settings)
    return JSONResponse(
        {"lead_id": result.lead_public_id, "enrolled": result.enrolled, "created": result.created},
        status_code=201 if result.created else 200,
    )
