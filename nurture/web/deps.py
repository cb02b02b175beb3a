"""What a request handler is given: a database session, the clock, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.db import get_sessionmaker


def get_session_factory() -> sessionmaker[Session]:
    """The sessionmaker requests draw from (tests override this dependency)."""
    return get_sessionmaker()


def get_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    """One session per request; whatever a handler did not commit is rolled back."""
    with factory() as session:
        yield session


def get_clock(request: Request) -> Clock:
    """The app's clock (app.state.clock, which tests replace with a ManualClock)."""
    return cast(Clock, request.app.state.clock)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


def request_evidence(request: Request, source: str) -> Evidence:
    """Where a consent decision was made: the visitor's address and browser.

    Behind a reverse proxy request.client is the proxy unless uvicorn runs with
    --proxy-headers and --forwarded-allow-ips=<the proxy's address>.
    """
    ip = request.client.host if request.client else None
    return Evidence(source=source, ip=ip, user_agent=request.headers.get("user-agent"))


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
