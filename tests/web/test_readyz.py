"""GET /readyz: 200 only when a message due now would go out, else 503 naming the gap."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from nurture.clock import utcnow
from nurture.health.heartbeat import BEAT, DISPATCHER, read_all, record
from tests.support import Database


def beat_all(db: Database, age: float = 1) -> None:
    at = utcnow() - timedelta(seconds=age)
    with db.factory.begin() as session:
        for name in ("worker:celery@web-test", BEAT, DISPATCHER):
            record(session, name, at)


def test_readyz_is_503_until_workers_and_beat_have_run(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["checks"]["workers"] == {
        "ok": False,
        "detail": "none has ever started: run `nurture worker`",
    }


def test_readyz_is_200_when_the_whole_chain_is_alive(client: TestClient, db: Database) -> None:
    beat_all(db)
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["workers"]["detail"] == "1 answering: celery@web-test"


def test_readyz_turns_503_when_every_heartbeat_goes_stale(client: TestClient, db: Database) -> None:
    beat_all(db, age=600)
    body = client.get("/readyz").json()
    assert body["status"] == "unavailable"
    assert {name for name, check in body["checks"].items() if not check["ok"]} == {
        "workers",
        "beat",
        "dispatcher",
    }


def test_a_heartbeat_recorded_twice_keeps_one_row_with_the_newest_time(db: Database) -> None:
    beat_all(db, age=100)
    beat_all(db, age=1)
    with db.factory() as session:
        heartbeats = read_all(session)
    assert len(heartbeats) == 3
    assert all(utcnow() - at < timedelta(seconds=30) for at in heartbeats.values())
