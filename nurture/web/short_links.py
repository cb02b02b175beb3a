"""/r/{code}: where a short link in a text or an email goes. A person's click is counted
against the message that carried it; a link preview (a phone or chat app fetching the
page to show a card) and a HEAD request are sent on without counting, or every message
would look clicked.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from nurture.messages.short_links import ALPHABET, CODE_LENGTH, follow
from nurture.web.deps import ClockDep, SessionDep, SettingsDep
from nurture.web.i18n import N_
from nurture.web.pages import render

router = APIRouter()

CODE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
# User agents of the fetchers that build link previews (iMessage sends the first two).
PREVIEWERS = re.compile(
    r"facebookexternalhit|Facebot|Twitterbot|Slackbot|WhatsApp|TelegramBot|Discordbot"
    r"|LinkedInBot|SkypeUriPreview|Applebot|Googlebot|bingbot|redditbot|Embedly",
    re.IGNORECASE,
)
NOT_FOUND = {
    "title": N_("Link not found"),
    "message": N_("This link is not one of ours, or it was typed with a letter changed."),
}


def is_preview(request: Request) -> bool:
    """Whether the request is a link preview or a HEAD, not a person opening the link."""
    return request.method != "GET" or bool(PREVIEWERS.search(request.headers.get("user-agent", "")))


@router.api_route("/r/{code}", methods=["GET", "HEAD"])
def follow_short_link(
    request: Request, code: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Count the click and send the person on (302: each click comes back through here)."""
    target = None
    if CODE.fullmatch(code):
        with session.begin():
            target = follow(session, settings, code, clock.now(), count=not is_preview(request))
    if target is None:
        return render(request, "error.html", NOT_FOUND, 404)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
