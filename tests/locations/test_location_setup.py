"""Setting up a group's locations, and how each lead comes to belong to one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.locations.directory import Locations, Place, UnknownLocation, overlay
from nurture.locations.models import DEFAULT_LOCATION_ID
from nurture.locations.spec import LocationsError, parse_locations, read_locations_file
from tests.factories import capture
from tests.locations.conftest import NORTHSIDE, NORTHSIDE_NUMBER
from tests.support import Database


def _lead(db: Database, email: str) -> Lead:
    with db.factory() as session:
        return session.scalars(select(Lead).where(Lead.email == email)).one()


def test_a_single_clinic_has_one_default_location_that_follows_its_settings(
    db: Database, settings: Settings
) -> None:
    with db.factory() as session:
        locations = Locations.load(session)
    assert [place.slug for place in locations] == ["main"]
    assert locations.settings(settings, DEFAULT_LOCATION_ID) is settings


def test_a_location_replaces_only_the_clinic_settings_it_sets(settings: Settings) -> None:
    [place] = parse_locations({"locations": [NORTHSIDE]})
    local = overlay(settings, Place(2, **place.model_dump()))
    assert local.clinic_name == "Riverside PT Northside"
    assert local.clinic_timezone == "America/Denver"
    assert local.twilio_from_number == NORTHSIDE_NUMBER and local.sms_send_rate == 2
    assert local.email_from == "northside@riverside-pt.example"
    assert local.sms_sending_hours == settings.sms_sending_hours  # not set: the clinic's


def test_a_messaging_service_sender_replaces_the_clinics_number_and_pool(
    settings: Settings,
) -> None:
    sid = "MG" + "ab" * 16
    [place] = parse_locations({"locations": [{"slug": "east", "sms_sender": sid}]})
    base = settings.model_copy(update={"twilio_from_number": "+12175550100"})
    local = overlay(base, Place(3, **place.model_dump()))
    assert local.twilio_messaging_service_sid == sid


def test_every_bad_field_of_a_locations_file_is_named(tmp_path: Path) -> None:
    bad = dict(NORTHSIDE, timezone="Mars/Olympus", phone="12", area_codes=["030"])
    path = tmp_path / "locations.yaml"
    path.write_text(
        "locations:\n  - slug: main\n  - " + "\n    ".join(f"{k}: {v!r}" for k, v in bad.items())
    )
    with pytest.raises(LocationsError) as caught:
        read_locations_file(path)
    problems = " | ".join(caught.value.problems)
    assert "locations.1.timezone" in problems
    assert "locations.1.phone" in problems
    assert "locations.1.area_codes" in problems


def test_a_slug_listed_twice_is_refused() -> None:
    with pytest.raises(LocationsError, match="'main' is listed twice"):
        parse_locations({"locations": [{"slug": "main"}, {"slug": "main"}]})


@pytest.mark.usefixtures("locations", "campaign")
def test_the_form_or_link_chooses_the_location(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings, email="ana@example.com", location="northside")
    assert _lead(db, "ana@example.com").location_id != DEFAULT_LOCATION_ID


@pytest.mark.usefixtures("locations", "campaign")
def test_without_a_choice_the_lead_goes_to_the_location_of_their_area_code(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    capture(db.factory, clock, settings, email="near@example.com", phone="+17205550123")
    capture(db.factory, clock, settings, email="far@example.com", phone="+12175550123")
    with db.factory() as session:
        northside = Locations.load(session).by_slug("northside")
    assert northside is not None
    assert _lead(db, "near@example.com").location_id == northside.id
    assert _lead(db, "far@example.com").location_id == DEFAULT_LOCATION_ID


@pytest.mark.usefixtures("locations")
def test_a_zip_code_prefix_beats_the_phones_area_code(db: Database) -> None:
    with db.factory() as session:
        locations = Locations.load(session)
    assert locations.nearest(zip_code="80302", phone="+12175550123").slug == "northside"
    assert locations.nearest(zip_code="62701", phone="+12175550123").slug == "main"


@pytest.mark.usefixtures("locations", "campaign")
def test_a_location_nobody_has_is_refused_and_nothing_is_stored(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    with pytest.raises(UnknownLocation):
        capture(db.factory, clock, settings, email="lost@example.com", location="southside")
    with db.factory() as session:
        assert session.scalars(select(Lead).where(Lead.email == "lost@example.com")).first() is None
