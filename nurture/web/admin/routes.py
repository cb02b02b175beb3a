"""Sign-in, sign-out and the console's front page, plus the first JSON endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from nurture.config import Settings
from nurture.staff.glance import glance
from nurture.staff.models import StaffUser
from nurture.staff.sections import roles_for, sections_for
from nurture.staff.service import (
    Actor,
    TooManyAttempts,
    authenticate,
    end_sessions,
    record_audit,
)
from nurture.web.admin.auth import (
    CSRF_FIELD,
    AdminSession,
    check_csrf,
    clear_session,
    current_user,
    read_session,
    require_role,
    safe_next,
    write_session,
)
from nurture.web.admin.pages import admin_page
from nurture.web.deps import ClockDep, SessionDep, SettingsDep
from nurture.web.pages import render

# Every unsafe request under /admin must carry the session's CSRF token.
router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])

SignedIn = Annotated[StaffUser, Depends(require_role())]
WRONG = "That email and password do not match an account. Check them and try again."
LOCKED = "Too many failed sign-ins. Wait 15 minutes, then try again."
NO_STORE = {"Cache-Control": "no-store"}


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _login_page(
    request: Request,
    settings: Settings,
    *,
    email: str = "",
    next_path: str = "/admin",
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    admin_session = read_session(request) or AdminSession.start()
    context = {
        "email": email,
        "next": next_path,
        "problem": problem,
        "csrf_field": CSRF_FIELD,
        "csrf_token": admin_session.csrf,
    }
    response = render(request, "admin/login.html", context, status_code)
    response.headers.update(NO_STORE)
    write_session(response, settings, admin_session)
    return response


@router.get("/login")
def login_form(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = "/admin"
) -> Response:
    """The sign-in form (or straight on, when already signed in)."""
    if current_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, settings, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    next: Annotated[str, Form()] = "/admin",
) -> Response:
    """Check the password; on success start a new session and go where the user was headed."""
    try:
        user = authenticate(
            session, email, password, _client_ip(request), clock.now(), settings.time_scale
        )
    except TooManyAttempts:
        return _login_page(
            request,
            settings,
            email=email,
            next_path=safe_next(next),
            problem=LOCKED,
            status_code=429,
        )
    session.commit()  # the attempt is audited whether it succeeded or not
    if user is None:
        return _login_page(
            request,
            settings,
            email=email,
            next_path=safe_next(next),
            problem=WRONG,
            status_code=401,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    write_session(response, settings, AdminSession.start(user))
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """End the session; the sign-out is audited."""
    user = current_user(request, session)
    if user is not None:
        actor = Actor.of(user, _client_ip(request))
        end_sessions(user)  # a copied or stolen cookie dies with this one
        record_audit(session, actor, "logout", clock.now(), user.email)
        session.commit()
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session(response, settings)
    return response


@router.get("")
def dashboard(
    request: Request, user: SignedIn, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Who is signed in, the sections their role opens and what is waiting in each."""
    lines = glance(session, sections_for(user.role), settings, clock.now())
    return admin_page(request, user, "dashboard.html", {"glance": lines})


@router.get("/api/me")
def me(request: Request, user: SignedIn) -> dict[str, Any]:
    """The signed-in account and the CSRF token for fetch() calls."""
    admin_session = read_session(request)
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "sections": [section.key for section in sections_for(user.role)],
        "csrf_token": admin_session.csrf if admin_session else None,
    }


@router.get("/api/campaigns")
def campaigns(
    user: Annotated[StaffUser, Depends(require_role(*roles_for("campaigns")))],
) -> list[Any]:
    """Placeholder for the campaign list; its guard is the one the real page will use."""
    return []
