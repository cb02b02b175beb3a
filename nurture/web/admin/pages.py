"""Rendering a console page: the layout's menu, the CSRF token and one-time notices.

A notice ("Step saved as version 3") travels from a POST to the page it redirects to
in a short-lived signed cookie, never in the URL, because it may name a lead.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import RedirectResponse, Response

from nurture.config import Settings
from nurture.staff.models import StaffUser
from nurture.staff.sections import sections_for
from nurture.web.admin.auth import COOKIE_PATH, CSRF_FIELD, read_session
from nurture.web.deps import get_app_settings
from nurture.web.pages import render

NOTICE_COOKIE = "nurture_admin_notice"
NOTICE_MAX_AGE = 60
NO_STORE = {"Cache-Control": "no-store"}


def _notices(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="nurture.admin.notice")


def redirect_with_notice(request: Request, url: str, notice: str) -> Response:
    """A 303 to `url` whose page will show `notice` once."""
    response = RedirectResponse(url, status_code=303)
    value = _notices(get_app_settings(request)).dumps(notice[:500])
    response.set_cookie(
        NOTICE_COOKIE,
        value,
        max_age=NOTICE_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=get_app_settings(request).environment == "production",
    )
    return response


def _take_notice(request: Request) -> str | None:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    try:
        value = _notices(get_app_settings(request)).loads(raw, max_age=NOTICE_MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def csrf_token(request: Request) -> str:
    """This session's CSRF token, for forms and for fetch() headers."""
    admin_session = read_session(request)
    return admin_session.csrf if admin_session else ""


def admin_page(
    request: Request,
    user: StaffUser,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    *,
    section: str = "",
) -> Response:
    """The console page `name` (under templates/web/admin/), never cached.

    Every page gets `user`, the menu (`sections`, with `section` marked current), the
    keys of the sections the role opens (`opens`),
    `csrf_field`/`csrf_token` for its forms and the pending `notice`, if any.
    """
    notice = _take_notice(request)
    sections = sections_for(user.role)
    full = {
        "user": user,
        "sections": sections,
        # Links into a section the role cannot open would only lead to a 403 page.
        "opens": frozenset(item.key for item in sections),
        "section": section,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "notice": notice,
        **(context or {}),
    }
    response = render(request, f"admin/{name}", full, status_code)
    response.headers.update(NO_STORE)
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path=COOKIE_PATH)
    return response
