"""The lead-capture API as integrators use it: form posts and flat consent, API keys,
rate limits, the honeypot, and the OpenAPI document that describes all of it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from nurture.cli.main import app as cli
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.leads.api_keys import create_key, revoke_key
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment
from tests.factories import ARTICLE
from tests.support import Database

GOOD: dict[str, Any] = {
    "article": ARTICLE,
    "first_name": "Dana",
    "email": "dana@example.com",
    "phone": "+1 217 555 0199",
    "consent": {"email": True, "sms": True},
}


def count(db: Database, model: type[object]) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def new_key(db: Database, clock: ManualClock, name: str = "zapier") -> str:
    with db.factory.begin() as session:
        return create_key(session, name, clock.now())


@pytest.fixture
def limited(app: FastAPI, settings: Settings) -> Settings:
    changed = settings.model_copy(
        update={"capture_rate_limit": "2/minute", "api_key_rate_limit": "4/minute"}
    )
    app.state.settings = changed
    return changed


def test_a_zapier_style_form_post_with_flat_consent_captures_the_lead(
    client: TestClient, db: Database, campaign: int
) -> None:
    form = {
        "article": ARTICLE,
        "first_name": "Dana",
        "email": "dana@example.com",
        "phone": "(217) 555-0199",
        "consent_email": "yes",
        "consent_sms": "on",
    }
    response = client.post("/api/leads", data=form)
    assert response.status_code == 201, response.text
    with db.factory() as session:
        channels = sorted(session.scalars(select(ConsentEvent.channel)).all())
    assert channels == ["email", "sms"]
    assert count(db, Enrollment) == 1


def test_multipart_form_fields_are_accepted_like_urlencoded_ones(
    client: TestClient, db: Database, campaign: int
) -> None:
    fields = {"article": ARTICLE, "first_name": "Dana", "email": "d@example.com"}
    files = {name: (None, value) for name, value in {**fields, "consent_email": "true"}.items()}
    assert client.post("/api/leads", files=files).status_code == 201
    assert count(db, Lead) == 1


def test_flat_consent_in_json_is_accepted(client: TestClient, campaign: int) -> None:
    body = {**GOOD, "consent_email": True}
    del body["consent"]
    assert client.post("/api/leads", json=body).status_code == 201


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**GOOD, "consent_email": True}, "consent", "give either a consent object or"),
        ({**GOOD, "consent": None, "consent_email": "maybe"}, "consent_email", "true or false"),
    ],
)
def test_unclear_consent_is_refused_naming_the_field(
    client: TestClient, db: Database, body: dict[str, Any], field: str, message: str
) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/leads", json=body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field and message in error["message"]
    assert count(db, Lead) == 0


def test_a_file_in_a_form_post_is_refused_and_nothing_stored(
    client: TestClient, db: Database
) -> None:
    files = {"first_name": (None, "Dana"), "photo": ("a.png", b"\x89PNG", "image/png")}
    response = client.post("/api/leads", files=files)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "photo", "message": "files are not accepted here"}
    ]
    assert count(db, Lead) == 0


def test_a_filled_honeypot_is_accepted_and_dropped(client: TestClient, db: Database) -> None:
    response = client.post("/api/leads", json={**GOOD, "website": "https://spam.example"})
    assert response.status_code == 202 and response.json() == {"accepted": True}
    assert count(db, Lead) == 0 and count(db, ConsentEvent) == 0


def test_an_empty_honeypot_is_what_people_send(client: TestClient, campaign: int) -> None:
    assert client.post("/api/leads", json={**GOOD, "website": ""}).status_code == 201


def test_one_address_posting_too_fast_gets_429_with_retry_after(
    limited: Settings, client: TestClient, db: Database, campaign: int
) -> None:
    for n in range(2):
        assert client.post("/api/leads", json={**GOOD, "email": f"d{n}@x.example"}).is_success
    refused = client.post("/api/leads", json={**GOOD, "email": "d9@x.example"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["errors"][0]["message"].startswith("too many leads from this caller")
    assert count(db, Lead) == 2


def test_a_valid_key_has_its_own_rate_and_names_itself_in_the_evidence(
    limited: Settings, client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    key = new_key(db, clock)
    for n in range(4):
        response = client.post(
            "/api/leads", json={**GOOD, "email": f"k{n}@x.example"}, headers={"X-API-Key": key}
        )
        assert response.status_code == 201, response.text
    over = client.post("/api/leads", json=GOOD, headers={"Authorization": f"Bearer {key}"})
    assert over.status_code == 429
    with db.factory() as session:
        sources = set(session.scalars(select(ConsentEvent.source)))
    assert sources == {"api:key:zapier"}


@pytest.mark.parametrize("given", ["nrt_not-a-real-key", "something-else", ""])
def test_an_unknown_key_is_refused_with_401_and_nothing_stored(
    client: TestClient, db: Database, given: str
) -> None:
    response = client.post("/api/leads", json=GOOD, headers={"X-API-Key": given})
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"field": "X-API-Key", "message": "unknown or revoked API key"}]
    }
    assert count(db, Lead) == 0


def test_a_revoked_key_stops_working_at_once(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    key = new_key(db, clock)
    assert client.post("/api/leads", json=GOOD, headers={"X-API-Key": key}).status_code == 201
    with db.factory.begin() as session:
        revoke_key(session, "zapier", clock.now())
    again = client.post("/api/leads", json=GOOD, headers={"X-API-Key": key})
    assert again.status_code == 401


def test_a_clinic_can_require_keys_for_the_api(
    app: FastAPI,
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
) -> None:
    app.state.settings = settings.model_copy(update={"lead_api_requires_key": True})
    refused = client.post("/api/leads", json=GOOD)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == "an API key is required"
    key = new_key(db, clock)
    assert client.post("/api/leads", json=GOOD, headers={"X-API-Key": key}).status_code == 201


def test_the_openapi_document_describes_the_lead_api_and_nothing_else(
    client: TestClient,
) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {"/api/leads"}
    operation = document["paths"]["/api/leads"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert {"200", "201", "202", "401", "422", "429"} <= set(operation["responses"])
    request = document["components"]["schemas"]["LeadRequest"]
    assert {"article", "first_name", "email", "consent", "consent_email", "website"} <= set(
        request["properties"]
    )
    assert "ConsentIn" in document["components"]["schemas"]
    assert client.get("/api/docs").status_code == 404  # no third-party scripts served


def test_api_keys_are_made_listed_and_revoked_from_the_command_line(
    settings: Settings,
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(cli, ["api-keys", "create", "Website"])
    assert made.exit_code == 0, made.output
    key = re.search(r"nrt_[\w-]+", made.output)
    assert key is not None
    listed = runner.invoke(cli, ["api-keys", "list"], env={"COLUMNS": "200"})
    assert "website" in listed.output and "active" in listed.output
    assert key.group(0) not in listed.output  # shown once, at creation only
    again = runner.invoke(cli, ["api-keys", "create", "website"])
    assert again.exit_code == 1 and "exists already" in again.output
    revoked = runner.invoke(cli, ["api-keys", "revoke", "website"])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(cli, ["api-keys", "list"], env={"COLUMNS": "200"}).output
