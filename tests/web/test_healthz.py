from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from nurture.db import make_engine
from nurture.web.deps import get_session_factory


def test_healthz_reports_a_reachable_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_503_when_the_database_is_unreachable(
    app: FastAPI, client: TestClient, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-folder' / 'nurture.db'}")
    app.dependency_overrides[get_session_factory] = lambda: sessionmaker(engine)
    response = client.get("/healthz")
    engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
