"""Staff and locations: a front desk limited to its clinic, results by location, moving
a lead, the settings page's list, and the lead API choosing a location."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from nurture.booking.models import Booking
from nurture.booking.service import book_slot
from nurture.booking.slots import open_slots
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.actions import move_to_location
from nurture.leads.models import Lead
from nurture.locations.directory import Locations
from nurture.replies.models import InboxItem
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.staff.models import StaffUser
from tests.factories import capture
from tests.locations.conftest import CLINIC_NUMBER, NORTHSIDE_NUMBER
from tests.replies.conftest import new_sid
from tests.staff.accounts import staff_user
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as

pytestmark = pytest.mark.usefixtures("locations", "campaign")


def _northside(db: Database) -> int:
    with db.factory() as session:
        place = Locations.load(session).by_slug("northside")
    assert place is not None
    return place.id


def _limit(db: Database, role: str, *location_ids: int) -> None:
    with db.factory.begin() as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.email == EMAILS[role])
            .values(location_ids=list(location_ids))
        )


def _ask(db: Database, settings: Settings, clock: ManualClock, sender: str, to: str) -> int:
    with db.factory.begin() as session:
        receive_sms(
            session,
            settings,
            InboundSms(new_sid(), sender, "Do you take Medicare?", "", to),
            clock.now(),
        )
        return session.scalars(select(InboxItem.id).order_by(InboxItem.id.desc())).first() or 0


def test_a_front_desk_limited_to_its_clinic_sees_only_its_own_inbox(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings
) -> None:
    sign_in_as(client, db, clock, "frontdesk")
    _limit(db, "frontdesk", _northside(db))
    own = _ask(db, settings, clock, "+15055550100", NORTHSIDE_NUMBER)
    other = _ask(db, settings, clock, "+15055550101", CLINIC_NUMBER)
    page = client.get("/admin/inbox")
    assert page.status_code == 200
    assert f"/admin/inbox/{own}" in page.text
    assert f"/admin/inbox/{other}" not in page.text
    assert client.get(f"/admin/inbox/{own}").status_code == 200
    assert client.get(f"/admin/inbox/{other}").status_code == 404


def test_a_front_desk_limited_to_its_clinic_sees_and_changes_only_its_bookings(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings
) -> None:
    token = sign_in_as(client, db, clock, "frontdesk")
    northside = _northside(db)
    _limit(db, "frontdesk", northside)
    ana = capture(
        db.factory, clock, settings, email="ana@example.com", first_name="Ana", location="northside"
    )
    dana = capture(db.factory, clock, settings, email="dana@example.com")
    with db.factory.begin() as session:
        north_slot = open_slots(session, settings, now=clock.now(), location_id=northside)[0]
        main_slot = open_slots(session, settings, now=clock.now())[0]
        own = book_slot(
            session, settings, ana.lead_id, north_slot.starts_at, source="t", now=clock.now()
        )
        other = book_slot(
            session, settings, dana.lead_id, main_slot.starts_at, source="t", now=clock.now()
        )
        own_id, other_id = own.id, other.id
    first = min(north_slot.starts_at, main_slot.starts_at).date().isoformat()
    week = client.get(f"/admin/bookings?day={first}")
    assert week.status_code == 200
    assert "Ana" in week.text and "Dana" not in week.text  # only its own clinic's patients
    refused = post_form(client, f"/admin/bookings/{other_id}/cancel", token)
    assert refused.status_code == 404
    with db.factory() as session:
        assert session.get(Booking, other_id).status != "cancelled"  # type: ignore[union-attr]
    assert post_form(client, f"/admin/bookings/{own_id}/cancel", token).status_code == 303


def test_results_can_be_shown_for_one_location_and_compared_side_by_side(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings
) -> None:
    sign_in_as(client, db, clock, "marketing")
    capture(db.factory, clock, settings, email="ana@example.com", location="northside")
    capture(db.factory, clock, settings, email="dana@example.com")
    capture(db.factory, clock, settings, email="lee@example.com", phone="+12175550123")
    every = client.get("/admin/results")
    assert every.status_code == 200
    assert 'id="location-comparison"' in every.text
    assert 'data-location="northside"' in every.text and 'data-location="main"' in every.text
    one = client.get("/admin/results?location=northside")
    assert one.status_code == 200
    assert 'id="results-location"' in one.text and "Riverside PT Northside" in one.text
    funnel = one.text.split('id="funnel-table"')[1]
    assert ">1<" in funnel.split("</tr>")[1]  # one lead enrolled there
    bad = client.get("/admin/results?location=southside")
    assert bad.status_code == 400
    assert "Location: no location has that name" in bad.text


def test_staff_move_a_lead_to_another_location(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    lead = capture(db.factory, clock, settings, email="dana@example.com")
    page = client.get(f"/admin/leads/{lead.lead_public_id}")
    assert "Move to Riverside PT Northside" in page.text
    moved = post_form(
        client, f"/admin/leads/{lead.lead_public_id}/location", token, {"location": "northside"}
    )
    assert moved.status_code == 303
    refused = post_form(
        client, f"/admin/leads/{lead.lead_public_id}/location", token, {"location": "mars"}
    )
    assert refused.status_code == 422 and "location: no location is called" in refused.text
    northside = _northside(db)
    with db.factory() as session:
        assert session.get(Lead, lead.lead_id).location_id == northside  # type: ignore[union-attr]


def test_the_settings_page_lists_each_location_with_what_it_uses(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    sign_in_as(client, db, clock, "admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200
    row = page.text.split('data-location="northside"')[1].split("</tr>")[0]
    assert "America/Denver" in row and NORTHSIDE_NUMBER in row and "its own" in row


def test_the_lead_api_takes_a_location_or_names_it_when_unknown(
    client: TestClient, db: Database
) -> None:
    body = {
        "article": "tight-hamstrings-sciatic-nerve",
        "first_name": "Ana",
        "email": "ana@example.com",
        "consent_email": True,
    }
    refused = client.post("/api/leads", json={**body, "location": "southside"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "location",
            "message": "no location has this name; leave it out to use the nearest clinic",
        }
    ]
    with db.factory() as session:
        assert session.scalars(select(Lead)).first() is None  # nothing half-stored
    near = client.post("/api/leads", json={**body, "zip_code": "80302"})
    assert near.status_code == 201
    northside = _northside(db)
    with db.factory() as session:
        assert session.scalars(select(Lead.location_id)).one() == northside
    bad_zip = client.post("/api/leads", json={**body, "email": "b@example.com", "zip_code": "8O3"})
    assert bad_zip.status_code == 422 and bad_zip.json()["errors"][0]["field"] == "zip_code"


def test_nothing_else_moves_with_a_lead(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    """A booking made at one clinic stays there when staff move the lead."""
    lead = capture(db.factory, clock, settings, email="dana@example.com")
    with db.factory.begin() as session:
        slot = open_slots(session, settings, now=clock.now() + timedelta(hours=1))[0]
        booking = book_slot(
            session, settings, lead.lead_id, slot.starts_at, source="t", now=clock.now()
        )
        move_to_location(session, lead.lead_id, "northside")
        assert booking.location_id == 1


def test_the_staff_page_shows_which_locations_each_person_sees(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    sign_in_as(client, db, clock, "admin")
    staff_user(db, clock, email=EMAILS["frontdesk"], role="frontdesk")
    _limit(db, "frontdesk", _northside(db))
    page = client.get("/admin/staff")
    desk = page.text.split(f"<td>{EMAILS['frontdesk']}")[1].split("</tr>")[0]
    assert '<td class="account-locations">northside</td>' in desk
    admin = page.text.split(f"<td>{EMAILS['admin']}")[1].split("</tr>")[0]
    assert '<td class="account-locations">all</td>' in admin
