"""/confirm/{token}: the double opt-in link. GET shows a button (mail scanners open every
link in an email, and must not confirm for the person); POST records the confirmation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from nurture.consent.confirmation import confirm, read_confirmation
from nurture.links import booking_token
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.i18n import use_language
from nurture.web.pages import render
from nurture.web.public import read_url

router = APIRouter()


@router.get("/confirm/{token}")
def confirm_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """The page with the confirm button (an invalid link gets the link-problem page)."""
    link = read_confirmation(session, settings, token)
    use_language(request, link.lead.language)
    return render(request, "confirm.html", {"first_name": link.lead.first_name, "token": token})


@router.post("/confirm/{token}")
def confirm_address(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Record the confirmed consent, start the sequence, and show the article."""
    evidence = request_evidence(request, "double-opt-in")
    with session.begin():
        confirmed = confirm(session, settings, token, evidence, clock.now())
    welcome = booking_token(settings, confirmed.lead.public_id)
    return RedirectResponse(
        read_url(confirmed.article, welcome, confirmed.lead.language), status_code=303
    )
