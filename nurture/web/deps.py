"""What a request handler is given: a database session, the clock, the settings.

The settings a request sees are the environment's with the clinic settings staff saved
(nurture.clinic.profile) laid over them, read once per request when its session opens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nurture.clinic.profile import effective_settings
from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.db import get_sessionmaker


def get_session_factory() -> sessionmaker[Session]:
    """The sessionmaker requests draw from (tests override this dependency)."""
    return get_sessionmaker()


def get_session(
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    """One session per request; whatever a handler did not commit is rolled back."""
    with factory() as session:
        if not hasattr(request.state, "settings"):
            _read_clinic_settings(request, session)
        yield session


def _read_clinic_settings(request: Request, session: Session) -> None:
    try:
        request.state.settings = effective_settings(session, get_app_settings(request))
    except SQLAlchemyError:
        # The handler meets an unreachable database itself and says so (/healthz: 503);
        # until then the page can still name the clinic from the environment.
        pass
    finally:
        # End the read now: handlers may open their own `with session.begin()`, and on
        # SQLite an open transaction would hold the write lock for the whole request.
        session.rollback()


SessionDep = Annotated[Session, Depends(get_session)]


def get_clock(request: Request) -> Clock:
    """The app's clock (app.state.clock, which tests replace with a ManualClock)."""
    return cast(Clock, request.app.state.clock)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with (the environment's: secrets, channels, …)."""
    return cast(Settings, request.app.state.settings)


def request_settings(request: Request) -> Settings:
    """The settings in force for this request, once its session has read the clinic's."""
    settings = getattr(request.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_app_settings(request)


def get_request_settings(request: Request, _session: SessionDep) -> Settings:
    """The environment's settings with the clinic settings staff saved applied."""
    return request_settings(request)


def request_evidence(request: Request, source: str) -> Evidence:
    """Where a consent decision was made: the visitor's address and browser.

    Behind a reverse proxy request.client is the proxy unless uvicorn runs with
    --proxy-headers and --forwarded-allow-ips=<the proxy's address>.
    """
    ip = request.client.host if request.client else None
    return Evidence(source=source, ip=ip, user_agent=request.headers.get("user-agent"))


ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_request_settings)]
