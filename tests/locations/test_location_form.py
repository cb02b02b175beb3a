"""The download form of a group of clinics: the article's link preselects a clinic, the
lead may pick another or give a ZIP code, and a clinic we do not have is named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nurture.leads.models import Lead
from nurture.locations.directory import Locations
from tests.factories import ARTICLE
from tests.support import Database

PAGE = f"/articles/{ARTICLE}"
DOWNLOAD = f"{PAGE}/download"
GOOD = {"first_name": "Rosa", "email": "rosa@example.com", "consent_email": "yes"}


def _location_of(db: Database, email: str) -> str:
    with db.factory() as session:
        location_id = session.scalars(select(Lead.location_id).where(Lead.email == email)).one()
        return Locations.load(session).get(location_id).slug


@pytest.mark.usefixtures("campaign")
def test_a_single_clinic_asks_no_clinic(client: TestClient) -> None:
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'id="location"' not in page.text and 'id="zip_code"' not in page.text


@pytest.mark.usefixtures("locations", "campaign")
def test_the_articles_link_preselects_the_clinic_and_the_lead_is_theirs(
    client: TestClient, db: Database
) -> None:
    page = client.get(f"{PAGE}?location=northside")
    assert '<option value="northside" selected>Riverside PT Northside</option>' in page.text
    assert client.post(DOWNLOAD, data={**GOOD, "location": "northside"}).status_code == 303
    assert _location_of(db, "rosa@example.com") == "northside"


@pytest.mark.usefixtures("locations", "campaign")
def test_a_zip_code_finds_the_nearest_clinic_when_none_is_chosen(
    client: TestClient, db: Database
) -> None:
    assert client.post(DOWNLOAD, data={**GOOD, "zip_code": "80304"}).status_code == 303
    assert _location_of(db, "rosa@example.com") == "northside"


@pytest.mark.usefixtures("locations", "campaign")
def test_a_clinic_we_do_not_have_is_named_and_nothing_is_stored(
    client: TestClient, db: Database
) -> None:
    answer = client.post(DOWNLOAD, data={**GOOD, "location": "southside"})
    assert answer.status_code == 422
    assert "Clinic: Choose one of our clinics from the list." in answer.text
    assert 'value="rosa@example.com"' in answer.text  # what was typed is kept
    bad_zip = client.post(DOWNLOAD, data={**GOOD, "zip_code": "8030"})
    assert bad_zip.status_code == 422 and "ZIP code: Enter a five-digit ZIP code" in bad_zip.text
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.usefixtures("locations", "campaign")
def test_the_spanish_form_asks_for_the_clinic_in_spanish(client: TestClient) -> None:
    page = client.get(f"{PAGE}?lang=es")
    assert "Su clínica" in page.text and "La más cercana a mí" in page.text
    refused = client.post(DOWNLOAD, data={**GOOD, "language": "es", "location": "southside"})
    assert "Elija una de nuestras clínicas de la lista." in refused.text
