"""The language a lead is written to in: from the form, the API or the browser."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.languages import from_accept_language, language_of
from nurture.leads.models import Lead
from tests.factories import ARTICLE
from tests.support import Database

DOWNLOAD = f"/articles/{ARTICLE}/download"
FORM = {"first_name": "Lucía", "email": "lucia@example.com", "consent_email": "yes"}
API = {
    "article": ARTICLE,
    "first_name": "Lucía",
    "email": "lucia@example.com",
    "consent": {"email": True},
}


def language(db: Database) -> str:
    with db.factory() as session:
        return session.scalars(select(Lead.language)).one()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("fr-FR,fr;q=0.9", None),
        ("fr;q=1, es;q=0.4, en;q=0.3", "es"),
        ("en;q=0.2, es-419", "es"),
        ("es;q=0, en;q=0.1", "en"),
        ("es;q=abc", None),
        ("", None),
        (";;,,q=,es", "es"),
    ],
)
def test_the_browsers_preferred_language_we_write_in_is_chosen(
    header: str, expected: str | None
) -> None:
    assert from_accept_language(header) == expected


def test_a_regional_tag_counts_as_its_language() -> None:
    assert [language_of(t) for t in ("es-MX", "ES_us", "en", "pt-BR", "", None)] == [
        "es",
        "es",
        "en",
        None,
        None,
        None,
    ]


def test_a_download_from_a_spanish_browser_is_written_to_in_spanish(
    client: TestClient, db: Database, campaign: int
) -> None:
    headers = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.8"}
    assert client.post(DOWNLOAD, data=FORM, headers=headers).status_code == 303
    assert language(db) == "es"


def test_the_pages_own_choice_wins_over_the_browser(
    client: TestClient, db: Database, campaign: int
) -> None:
    headers = {"Accept-Language": "en-US"}
    response = client.post(DOWNLOAD, data={**FORM, "language": "es"}, headers=headers)
    assert response.status_code == 303
    assert language(db) == "es"


def test_a_browser_in_a_language_we_do_not_write_gets_english(
    client: TestClient, db: Database, campaign: int
) -> None:
    response = client.post(DOWNLOAD, data=FORM, headers={"Accept-Language": "fr-FR"})
    assert response.status_code == 303
    assert language(db) == "en"


def test_the_api_takes_a_language_and_names_the_field_when_it_cannot(
    client: TestClient, db: Database, campaign: int
) -> None:
    refused = client.post("/api/leads", json={**API, "language": "fr"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["language"]
    assert client.post("/api/leads", json={**API, "language": "es-419"}).status_code == 201
    assert language(db) == "es"
