"""The front desk calls back patients who asked for a screening without a time."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.booking.models import BookingStatus
from nurture.booking.service import request_screening
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.staff.models import AuditEntry
from tests.booking.clinic import TUE_0900, bookings, notices, set_availability
from tests.factories import capture
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import text_by_id

PHONE = "+12175550188"


def asked_for_a_call(db: Database, clock: ManualClock, settings: Settings) -> int:
    """A lead who asked for a screening but chose no time; returns the booking id."""
    lead = capture(db.factory, clock, settings, first_name="Rosa", phone=PHONE)
    with db.factory.begin() as session:
        return request_screening(session, settings, lead.lead_id, source="sms", now=clock.now()).id


def test_a_request_without_a_time_is_listed_with_the_number_to_call(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    booking_id = asked_for_a_call(db, clock, settings)
    sign_in_as(client, db, clock, "frontdesk")
    page = client.get("/admin/bookings")
    assert page.status_code == 200
    row = text_by_id(page.text, f"callback-{booking_id}")
    assert "Rosa" in row and "(217) 555-0188" in row
    assert 'value="2026-11-03T15:00:00+00:00"' in page.text  # Tuesday 09:00 is offered


def test_booking_the_agreed_time_confirms_the_request_and_tells_the_patient(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    booking_id = asked_for_a_call(db, clock, settings)
    token = sign_in_as(client, db, clock, "frontdesk")
    response = post_form(
        client, f"/admin/bookings/{booking_id}/book", token, {"starts_at": TUE_0900.isoformat()}
    )
    assert response.status_code == 303
    [booking] = bookings(db.factory)
    assert (booking.id, booking.status, booking.starts_at) == (
        booking_id,
        BookingStatus.CONFIRMED,
        TUE_0900,
    )
    assert any(key.startswith(f"booking:{booking_id}:") for key in notices(db.factory))
    with db.factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "booking.booked")
        ).one()
    assert (entry.target, entry.detail) == (str(booking_id), {"starts_at": TUE_0900.isoformat()})
    page = client.get("/admin/bookings")
    assert f"callback-{booking_id}" not in page.text
    assert "Screening booked for" in text_by_id(page.text, "notice")


def test_a_time_that_cannot_be_booked_is_explained_and_the_request_kept(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    booking_id = asked_for_a_call(db, clock, settings)
    token = sign_in_as(client, db, clock, "frontdesk")
    sunday = "2026-11-08T15:00:00+00:00"  # the clinic is closed on Sundays
    response = post_form(client, f"/admin/bookings/{booking_id}/book", token, {"starts_at": sunday})
    assert response.status_code == 409
    assert "Sunday" in response.text
    not_a_time = post_form(
        client, f"/admin/bookings/{booking_id}/book", token, {"starts_at": "soon"}
    )
    assert not_a_time.status_code == 409
    assert "choose one of the listed times" in not_a_time.text
    [booking] = bookings(db.factory)
    assert booking.status == BookingStatus.REQUESTED
    assert f"callback-{booking_id}" in not_a_time.text
