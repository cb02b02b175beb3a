"""Error pages: a clear page (or JSON under /api) instead of a stack trace.

A page's title and message are English marked with N_(); error.html shows them in the
page's language (the browser's, since an error page may know no lead).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from nurture.leads.articles import UnknownArticle
from nurture.links import InvalidToken
from nurture.web.api import invalid_request_response
from nurture.web.api_body import InvalidRequest
from nurture.web.i18n import N_
from nurture.web.pages import render

log = logging.getLogger(__name__)
TITLES = {404: N_("Page not found"), 405: N_("Not allowed here"), 413: N_("Too large")}
SOMETHING_WRONG = N_("Something went wrong")
NOT_FOUND = N_("We could not find that page.")
TRY_AGAIN = N_("We could not save that just now. Nothing was lost on your side: please try again.")
# What InvalidToken says about a link, as the link-problem page shows it (_sentence).
LINK_PROBLEMS = (
    N_("This link has expired."),
    N_("This link is not valid."),
    N_("This link is no longer valid."),
)
UNSTORABLE = "the request has characters that cannot be stored, such as a NUL byte"
# Callers here are programs (API clients, providers' webhooks, monitors): they get JSON.
MACHINE_PATHS = ("/api/", "/admin/api/", "/webhooks/", "/healthz")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."


def register_error_pages(app: FastAPI) -> None:
    """Install the handlers that turn known failures into pages or JSON."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith(MACHINE_PATHS):
            return await http_exception_handler(request, exc)
        title = TITLES.get(exc.status_code, SOMETHING_WRONG)
        message = NOT_FOUND if exc.status_code == 404 else _sentence(str(exc.detail))
        context = {"title": title, "message": message}
        return render(request, "error.html", context, exc.status_code)

    @app.exception_handler(UnknownArticle)
    async def unknown_article(request: Request, exc: UnknownArticle) -> Response:
        context = {
            "title": N_("Article not found"),
            "message": N_("We could not find that article."),
        }
        return render(request, "error.html", context, 404)

    @app.exception_handler(InvalidToken)
    async def invalid_link(request: Request, exc: InvalidToken) -> Response:
        return render(request, "link_problem.html", {"problem": _sentence(str(exc))}, 400)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # The database refused a value (a NUL in text): the request's transaction is
        # rolled back with its session, so nothing of it was written.
        log.warning("refused a value the database cannot store (%s)", type(exc.orig).__name__)
        if request.url.path.startswith(MACHINE_PATHS):
            return invalid_request_response([{"field": "body", "message": UNSTORABLE}], 400)
        context = {
            "title": N_("Something in the form cannot be saved"),
            "message": N_("The request has characters that cannot be stored, such as a NUL byte."),
        }
        return render(request, "error.html", context, 400)

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # The database is restarting or unreachable: nothing was stored, and a moment
        # later it will be. Say so (503 + Retry-After) instead of a 500.
        log.warning("database unavailable (%s); answered 503", type(exc).__name__)
        response: Response
        if request.url.path.startswith(MACHINE_PATHS):
            message = "the service is busy for a moment; nothing was stored, please retry"
            response = invalid_request_response([{"field": "server", "message": message}], 503)
        else:
            context = {"title": N_("Please try again in a moment"), "message": TRY_AGAIN}
            response = render(request, "error.html", context, 503)
        response.headers["Retry-After"] = "5"
        return response

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)

    @app.exception_handler(InvalidRequest)
    async def invalid_api_request(request: Request, exc: InvalidRequest) -> Response:
        return invalid_request_response(exc.errors)
