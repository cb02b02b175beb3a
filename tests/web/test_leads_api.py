from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nurture.consent.models import ConsentEvent
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment
from tests.factories import ARTICLE
from tests.support import Database

GOOD: dict[str, Any] = {
    "article": ARTICLE,
    "first_name": "Dana",
    "email": "dana@example.com",
    "phone": "+1 217 555 0199",
    "timezone": "America/Chicago",
    "consent": {"email": True, "sms": True},
}


def count(db: Database, model: type[object]) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def fields(response_json: dict[str, Any]) -> list[str]:
    return [error["field"] for error in response_json["errors"]]


def test_api_creates_a_lead_and_returns_its_public_id(
    client: TestClient, db: Database, campaign: int
) -> None:
    response = client.post("/api/leads", json=GOOD)
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "lead_id": body["lead_id"],
        "enrolled": True,
        "created": True,
        "confirmation_sent": False,
    }
    with db.factory() as session:
        lead = session.scalars(select(Lead)).one()
        assert lead.public_id == body["lead_id"]
        assert session.scalars(select(ConsentEvent.source)).all() == [f"api:{ARTICLE}"] * 2


def test_api_redownload_returns_200_and_does_not_enrol_twice(
    client: TestClient, db: Database, campaign: int
) -> None:
    first = client.post("/api/leads", json=GOOD).json()
    again = client.post("/api/leads", json={**GOOD, "email": "DANA@example.com"})
    assert again.status_code == 200
    assert again.json() == {
        "lead_id": first["lead_id"],
        "enrolled": False,
        "created": False,
        "confirmation_sent": False,
    }
    assert count(db, Enrollment) == 1


def test_form_then_api_for_the_same_email_enrols_once(
    client: TestClient, db: Database, campaign: int
) -> None:
    form = {"first_name": "Dana", "email": "dana@example.com", "consent_email": "yes"}
    assert client.post(f"/articles/{ARTICLE}/download", data=form).status_code == 303
    response = client.post("/api/leads", json=GOOD)
    assert response.json()["created"] is False
    assert count(db, Lead) == 1
    assert count(db, Enrollment) == 1


def test_api_names_every_bad_field_and_stores_nothing(
    client: TestClient, db: Database, campaign: int
) -> None:
    bad = {
        "article": ARTICLE,
        "first_name": "",
        "email": "not-an-email",
        "phone": "12",
        "timezone": "Mars/Olympus_Mons",
        "consent": {"email": False},
    }
    response = client.post("/api/leads", json=bad)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["first_name", "email", "phone", "timezone", "consent"]
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)
    assert "Value error" not in str(errors)
    assert "email consent is required" in errors[-1]["message"]
    for model in (Lead, ConsentEvent, Enrollment):
        assert count(db, model) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent": {"email": "maybe"}}, "consent.email"),
        ({"consent": {"email": True, "sms": True}, "phone": None}, "consent"),
        ({"shoe_size": 9}, "shoe_size"),
        ({"email": None}, "email"),
    ],
)
def test_api_error_field_is_the_dotted_path_of_the_bad_value(
    client: TestClient, campaign: int, change: dict[str, Any], field: str
) -> None:
    response = client.post("/api/leads", json={**GOOD, **change})
    assert response.status_code == 422
    assert fields(response.json()) == [field]


def test_api_refuses_an_unknown_article_by_name(
    client: TestClient, db: Database, campaign: int
) -> None:
    response = client.post("/api/leads", json={**GOOD, "article": "no-such-guide"})
    assert response.status_code == 422
    assert response.json() == {
        "errors": [{"field": "article", "message": "no article has this slug"}]
    }
    assert count(db, Lead) == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'["dana@example.com"]', "application/json"),
        (b"", "application/json"),
    ],
)
def test_api_body_that_is_not_a_json_object_gets_a_422(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post("/api/leads", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 422
    assert response.json() == {
        "errors": [{"field": "body", "message": "the body must be a JSON object"}]
    }


def test_api_wrong_method_answers_json_not_a_page(client: TestClient) -> None:
    response = client.get("/api/leads")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
