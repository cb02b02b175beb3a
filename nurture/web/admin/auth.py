"""Who is signed in to the admin console, what their role opens, and CSRF protection.

The session is a cookie signed with the secret key (itsdangerous), scoped to /admin:
it holds the staff id, the session's CSRF token and the account's session epoch, nothing
personal. Every request reloads the account, so a disabled account is signed out at
once, and signing out (or a new password) moves the epoch on, ending every copy.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import JSONResponse, RedirectResponse, Response

from nurture.config import Settings
from nurture.staff.models import Role, StaffUser
from nurture.web.deps import SessionDep, get_app_settings
from nurture.web.pages import render

COOKIE = "nurture_admin"
COOKIE_PATH = "/admin"
SESSION_MAX_AGE = 12 * 60 * 60  # a working day; then sign in again
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
API_PREFIX = "/admin/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class AdminSession:
    """What the cookie carries: the signed-in account (None before sign-in) and its CSRF token."""

    user_id: int | None
    csrf: str
    epoch: int = 0  # the account's session_epoch when it signed in

    @classmethod
    def start(cls, user: StaffUser | None = None) -> AdminSession:
        """A session with a fresh CSRF token (a new one at sign-in stops session fixation)."""
        if user is None:
            return cls(None, secrets.token_urlsafe(32))
        return cls(user.id, secrets.token_urlsafe(32), user.session_epoch)


class SignInRequired(Exception):
    """Nobody is signed in."""


class RoleRefused(Exception):
    """The signed-in account's role does not open this page."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="nurture.admin.session")


def read_session(request: Request) -> AdminSession | None:
    """The session the request's cookie carries, if it is genuine and not expired."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer(get_app_settings(request)).loads(raw, max_age=SESSION_MAX_AGE)
        user_id, csrf, epoch = data["u"], data["c"], data.get("e", 0)
    except (BadSignature, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(csrf, str) or not (user_id is None or isinstance(user_id, int)):
        return None
    if not isinstance(epoch, int):
        return None
    return AdminSession(user_id, csrf, epoch)


def write_session(response: Response, settings: Settings, session: AdminSession) -> None:
    """Set the session cookie: HttpOnly, SameSite=Lax, and Secure in production."""
    value = _serializer(settings).dumps(
        {"u": session.user_id, "c": session.csrf, "e": session.epoch}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )


def clear_session(response: Response, settings: Settings) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )


def current_user(request: Request, session: SessionDep) -> StaffUser | None:
    """The signed-in, enabled account whose sessions have not been ended since, or None."""
    admin_session = read_session(request)
    if admin_session is None or admin_session.user_id is None:
        return None
    user = session.get(StaffUser, admin_session.user_id)
    if user is None or user.disabled or user.session_epoch != admin_session.epoch:
        return None
    return user


def require_role(*roles: Role) -> Callable[[Request, SessionDep], StaffUser]:
    """A dependency giving the signed-in account, refused unless its role is one of `roles`.

    With no roles, any signed-in account will do.
    """
    allowed = frozenset(roles)

    def signed_in_with_role(request: Request, session: SessionDep) -> StaffUser:
        user = current_user(request, session)
        if user is None:
            raise SignInRequired
        if allowed and user.role not in allowed:
            raise RoleRefused
        return user

    return signed_in_with_role


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """Refuse a POST (or other unsafe method) without this session's token.

    Forms send it in the hidden field csrf_token, fetch() calls in the X-CSRF-Token header.
    Reading the token parses the form, uploads included; the form is closed however the
    request ends, refusals too, so no upload's temporary file outlives it.
    """
    try:
        if request.method not in SAFE_METHODS:
            _refuse_without_token(request, await _sent_token(request))
        yield
    finally:
        await request.close()


async def _sent_token(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent


def _refuse_without_token(request: Request, sent: str | None) -> None:
    admin_session = read_session(request)
    if admin_session is None or not sent or not secrets.compare_digest(sent, admin_session.csrf):
        raise CsrfRefused


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path inside the console, never another site."""
    if not target:
        return "/admin"
    parts = urlsplit(target)
    inside = target == "/admin" or target.startswith("/admin/")
    if parts.scheme or parts.netloc or "\\" in target or not inside:
        return "/admin"
    return target


def register_access_errors(app: FastAPI) -> None:
    """Turn refusals into a sign-in redirect or 401/403: JSON under /admin/api/, pages elsewhere."""

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse({"detail": "Sign in first."}, 401)
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(wanted, safe='')}", status_code=303)

    @app.exception_handler(RoleRefused)
    async def role_refused(request: Request, exc: RoleRefused) -> Response:
        message = "Your role does not open this part of the console."
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse({"detail": message}, 403)
        context = {"title": "Not for your role", "message": message}
        return render(request, "error.html", context, 403)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        message = "This form has expired. Go back, reload the page and try again."
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse({"detail": message}, 403)
        return render(request, "error.html", {"title": "Form expired", "message": message}, 403)
