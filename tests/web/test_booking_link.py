from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import EXIT_REASON
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.links import booking_url, unsubscribe_url
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.support import Database
from tests.web.conftest import path_of
from tests.web.page_parsing import text_by_id


def test_booking_page_shows_the_clinic_and_one_request_button(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings)
    url = path_of(booking_url(settings, lead.lead_public_id))
    response = client.get(url)
    assert response.status_code == 200
    main = text_by_id(response.text, "main")
    assert main.startswith("Book your free screening Hi Dana,")
    assert settings.clinic_name in main
    assert settings.clinic_address in main
    assert "(217) 555-0142" in main
    assert response.text.count("<button") == 1
    assert f'<form method="post" action="{url}">' in response.text
    with db.factory() as session:
        assert session.scalars(select(Booking)).all() == []


def test_requesting_a_screening_books_it_once_and_ends_the_sequence(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings)
    url = path_of(booking_url(settings, lead.lead_public_id))
    first = client.post(url)
    second = client.post(url)
    for response in (first, second):
        assert response.status_code == 200
        assert "Our front desk will call you to pick a time" in response.text
    with db.factory() as session:
        booking = session.scalars(select(Booking)).one()
        assert (booking.lead_id, booking.status, booking.source) == (
            lead.lead_id,
            BookingStatus.REQUESTED,
            "booking-link",
        )
        assert booking.created_at == clock.now()
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.status == EnrollmentStatus.EXITED
        assert enrollment.end_reason == EXIT_REASON
        assert enrollment.next_due_at is None


def test_booking_link_with_tampered_token_shows_error_page(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings)
    url = path_of(booking_url(settings, lead.lead_public_id))
    tampered = url.replace("/book/", "/book/x")
    for response in (client.get(tampered), client.post(tampered)):
        assert response.status_code == 400
        assert "This link cannot be used" in response.text
        assert "Traceback" not in response.text
    with db.factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.ACTIVE


def test_unsubscribe_link_cannot_book(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings)
    token = path_of(unsubscribe_url(settings, lead.lead_public_id, "email")).rsplit("/", 1)[1]
    assert client.post(f"/book/{token}").status_code == 400


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{ 7*7 }}"])
def test_hostile_name_is_shown_literally_on_the_booking_pages(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    name: str,
) -> None:
    lead = capture(db.factory, clock, settings, first_name=name)
    url = path_of(booking_url(settings, lead.lead_public_id))
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 200
        assert name in text_by_id(response.text, "main")
        assert "<script>alert(1)" not in response.text
        assert "Hi 49" not in response.text
        assert "Thank you, 49" not in response.text
