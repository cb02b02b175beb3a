"""A TestClient on the real app, its sessions on the test database and its clock manual."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.support import Database


@pytest.fixture
def app(db: Database, clock: ManualClock) -> FastAPI:
    app = create_app()
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    app.state.clock = clock
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


def path_of(url: str) -> str:
    """The path of a public URL, for the TestClient (which serves any host)."""
    return urlsplit(url).path
