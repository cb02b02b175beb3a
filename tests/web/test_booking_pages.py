"""The booking pages behind a message's link: pick a time, see it, move it, cancel it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import EXIT_REASON, book_slot
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.links import booking_url, unsubscribe_url
from nurture.messages.models import Message
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.booking.clinic import TUE_0900, TUE_0930, bookings, seats, set_availability
from tests.factories import capture
from tests.support import Database
from tests.web.conftest import path_of
from tests.web.page_parsing import form_fields, text_by_id

THU_0900 = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)


@pytest.fixture
def open_week(db: Database, clock: ManualClock, campaign: int) -> None:
    set_availability(db.factory, clock)


def page_url(settings: Settings, public_id: str) -> str:
    return path_of(booking_url(settings, public_id))


def enrollment_status(db: Database) -> str:
    with db.factory() as session:
        return session.scalars(select(Enrollment.status)).one()


def choose(client: TestClient, url: str, at: datetime, action: str = "") -> str:
    """The page after choosing the time `at` (the page's whole HTML)."""
    response = client.post(url + action, data={"slot": at.isoformat()})
    assert response.status_code == 200, response.text
    return response.text


def test_booking_page_lists_the_next_open_times_by_day_as_one_button_each(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    response = client.get(url)
    assert response.status_code == 200
    main = text_by_id(response.text, "main")
    assert main.startswith("Book your free screening Hi Dana,")
    slots = text_by_id(response.text, "slots")
    assert slots.startswith(
        "Pick a time Tuesday, November 3 9:00 AM CST 9:30 AM CST 10:00 AM CST 10:30 AM CST"
    )
    assert "Wednesday, November 4" not in slots  # ten times fill Tuesday
    assert response.text.count(f'<form method="post" action="{url}">') == 10
    assert f'value="{TUE_0900.isoformat()}"' in response.text
    assert "Show later times" in slots
    assert settings.clinic_address in main and "(217) 555-0142" in main
    assert bookings(db.factory) == []


def test_later_times_link_shows_the_times_after_the_last_one_shown(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    first = client.get(url).text
    assert text_by_id(first, "slots").split("CST")[-2].strip() == "2:30 PM"
    later_link = re.search(r'<a href="([^"]+)">Show later times</a>', first)
    assert later_link is not None
    later = client.get(html.unescape(later_link.group(1)))
    slots = text_by_id(later.text, "slots")
    assert slots.startswith("Pick a time Tuesday, November 3 3:00 PM CST 3:30 PM CST 4:00 PM CST")
    assert "Wednesday, November 4 9:00 AM CST" in slots


def test_times_are_on_the_clinics_clock_with_the_leads_own_beside_them(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    # The screening is in person: the clinic's clock decides, the lead's helps.
    lead = capture(db.factory, clock, settings, timezone="America/New_York")
    response = client.get(page_url(settings, lead.lead_public_id))
    assert (
        "Tuesday, November 3 9:00 AM CST (10:00 AM EST your time) "
        "9:30 AM CST (10:30 AM EST your time)"
    ) in text_by_id(response.text, "slots")
    assert text_by_id(response.text, "clinic-time") == (
        "Times are on the clinic's clock (America/Chicago), where the screening takes place."
    )
    booked = client.post(
        path_of(page_url(settings, lead.lead_public_id)),
        data={"slot": "2026-11-03T15:00:00+00:00"},
        follow_redirects=True,
    )
    assert "Tuesday, November 3 at 9:00 AM CST (10:00 AM EST your time)" in booked.text


def test_a_lead_on_the_clinics_clock_sees_one_time(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings, timezone="America/Chicago")
    slots = text_by_id(client.get(page_url(settings, lead.lead_public_id)).text, "slots")
    assert "9:00 AM CST 9:30 AM CST" in slots and "your time" not in slots


def test_choosing_a_time_books_it_and_shows_the_time_place_and_what_to_do_next(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    page = choose(client, url, TUE_0900)
    assert text_by_id(page, "booking") == (
        "Your free screening is booked "
        "Thank you, Dana. We will see you on Tuesday, November 3 at 9:00 AM CST."
    )
    assert settings.clinic_address in text_by_id(page, "where")
    assert text_by_id(page, "actions") == (
        "Add to my calendar Choose another time Cancel my screening"
    )
    for action in ("calendar.ics", "reschedule", "cancel"):
        assert f'href="{url}/{action}"' in page
    [booking] = bookings(db.factory)
    assert (booking.lead_id, booking.status, booking.starts_at, booking.source) == (
        lead.lead_id,
        BookingStatus.CONFIRMED,
        TUE_0900,
        "booking-link",
    )
    assert enrollment_status(db) == EnrollmentStatus.EXITED
    with db.factory() as session:
        reasons = {e.end_reason for e in session.scalars(select(Enrollment))}
    assert reasons == {EXIT_REASON}


def test_opening_the_link_again_shows_the_booking_with_cancel_and_reschedule(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    choose(client, url, TUE_0900)
    response = client.get(url)
    assert response.status_code == 200
    assert text_by_id(response.text, "booking") == (
        "Your free screening Dana, you are booked for Tuesday, November 3 at 9:00 AM CST."
    )
    assert f'href="{url}/cancel"' in response.text
    assert f'href="{url}/reschedule"' in response.text
    assert "<form" not in response.text


def test_calendar_link_downloads_the_booked_screening(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    assert client.get(f"{url}/calendar.ics").status_code == 404
    choose(client, url, TUE_0900)
    response = client.get(f"{url}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert event.decoded("DTSTART") == TUE_0900
    assert str(event["SUMMARY"]) == f"Free screening at {settings.clinic_name}"


def test_a_time_taken_meanwhile_shows_the_page_again_with_a_message_and_fresh_times(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    slow = capture(db.factory, clock, settings, email="slow@example.com", first_name="Sam")
    fast = capture(db.factory, clock, settings, email="fast@example.com", first_name="Fay")
    url = page_url(settings, slow.lead_public_id)
    assert f'value="{TUE_0900.isoformat()}"' in client.get(url).text
    with db.factory.begin() as session:
        book_slot(session, settings, fast.lead_id, TUE_0900, source="sms", now=clock.now())
    response = client.post(url, data={"slot": TUE_0900.isoformat()})
    assert response.status_code == 409
    assert text_by_id(response.text, "problem").startswith("Sorry, that time was just taken")
    slots = text_by_id(response.text, "slots")
    assert slots.startswith("Pick a time Tuesday, November 3 9:30 AM CST")
    assert f'value="{TUE_0930.isoformat()}"' in response.text
    assert "Something went wrong" not in response.text
    with db.factory() as session:
        assert session.scalars(select(Booking.lead_id)).all() == [fast.lead_id]
        statuses = dict(session.execute(select(Enrollment.lead_id, Enrollment.status)).all())
    assert statuses[slow.lead_id] == EnrollmentStatus.ACTIVE


@pytest.mark.parametrize(
    "value", ["not-a-time", "2026-11-03T15:00:00", "2026-11-03T15:07:00+00:00"]
)
def test_a_garbled_or_invented_time_gets_the_same_friendly_page(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    open_week: None,
    value: str,
) -> None:
    lead = capture(db.factory, clock, settings)
    response = client.post(page_url(settings, lead.lead_public_id), data={"slot": value})
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in response.text
    assert bookings(db.factory) == []


def test_cancel_link_asks_first_and_only_the_button_cancels(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    choose(client, url, TUE_0900)
    ask = client.get(f"{url}/cancel")
    assert ask.status_code == 200
    assert "Cancel your free screening?" in ask.text
    assert "Tuesday, November 3 at 9:00 AM CST" in text_by_id(ask.text, "when")
    assert bookings(db.factory)[0].status == BookingStatus.CONFIRMED  # opening changed nothing
    done = client.post(f"{url}/cancel")
    assert done.status_code == 200
    assert text_by_id(done.text, "cancelled").startswith("Your free screening is cancelled")
    [booking] = bookings(db.factory)
    assert (booking.status, booking.cancel_source) == (BookingStatus.CANCELLED, "booking-link")
    assert seats(db.factory) == []
    again = client.post(f"{url}/cancel")
    assert "There is no screening to cancel" in again.text
    # With the booking gone, the link offers times again.
    assert "Pick a time" in client.get(url).text


def test_reschedule_link_moves_the_booking_to_the_chosen_time(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    choose(client, url, TUE_0900)
    page = client.get(f"{url}/reschedule")
    assert page.status_code == 200
    main = text_by_id(page.text, "main")
    assert main.startswith(
        "Choose a new time Hi Dana, your free screening is on Tuesday, November 3 at 9:00 AM CST."
    )
    assert page.text.count(f'<form method="post" action="{url}/reschedule">') == 10
    moved = text_by_id(choose(client, url, THU_0900, "/reschedule"), "main")
    assert moved.startswith("Your free screening has moved")
    assert "Thursday, November 5 at 9:00 AM CST" in moved
    [booking] = bookings(db.factory)
    assert (booking.starts_at, booking.status) == (THU_0900, BookingStatus.CONFIRMED)
    assert seats(db.factory) == [(THU_0900, 1)]  # the Tuesday seat is free again


def test_rescheduling_to_a_time_taken_meanwhile_keeps_the_old_time(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    other = capture(db.factory, clock, settings, email="o@example.com")
    url = page_url(settings, lead.lead_public_id)
    choose(client, url, TUE_0900)
    with db.factory.begin() as session:
        book_slot(session, settings, other.lead_id, THU_0900, source="sms", now=clock.now())
    response = client.post(f"{url}/reschedule", data={"slot": THU_0900.isoformat()})
    assert response.status_code == 409
    assert "Sorry, that time was just taken" in response.text
    assert "Choose a new time" in response.text
    assert {b.lead_id: b.starts_at for b in bookings(db.factory)}[lead.lead_id] == TUE_0900


def test_with_no_open_times_the_page_offers_a_call_back_and_tells_the_front_desk(
    app: FastAPI,
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
) -> None:
    app.state.settings = settings.model_copy(update={"front_desk_email": "desk@example.test"})
    set_availability(db.factory, clock, weekly_hours={})
    lead = capture(db.factory, clock, settings)
    url = page_url(settings, lead.lead_public_id)
    page = client.get(url)
    assert "No times open online right now" in text_by_id(page.text, "slots")
    assert page.text.count("<button") == 1
    assert form_fields(page.text) == {}
    for _ in range(2):
        response = client.post(url)
        assert response.status_code == 200
        assert "Our front desk will call you to pick a time" in response.text
    [booking] = bookings(db.factory)
    assert (booking.status, booking.starts_at) == (BookingStatus.REQUESTED, None)
    assert enrollment_status(db) == EnrollmentStatus.EXITED
    with db.factory() as session:
        desk = session.scalars(
            select(Message).where(Message.step_key == "booking-front-desk")
        ).one()
    assert desk.content is not None and desk.content["to"] == "desk@example.test"
    assert desk.summary == "Screening requested: please call Dana"


def test_booking_link_with_tampered_token_shows_error_page(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    tampered = page_url(settings, lead.lead_public_id).replace("/book/", "/book/x")
    responses = [
        client.get(tampered),
        client.post(tampered, data={"slot": TUE_0900.isoformat()}),
        client.post(tampered),
        client.get(f"{tampered}/cancel"),
        client.post(f"{tampered}/cancel"),
        client.get(f"{tampered}/reschedule"),
        client.post(f"{tampered}/reschedule", data={"slot": TUE_0900.isoformat()}),
        client.get(f"{tampered}/calendar.ics"),
    ]
    for response in responses:
        assert response.status_code == 400
        assert "This link cannot be used" in response.text
        assert "Traceback" not in response.text
    assert bookings(db.factory) == []
    assert enrollment_status(db) == EnrollmentStatus.ACTIVE


def test_unsubscribe_link_cannot_book(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, open_week: None
) -> None:
    lead = capture(db.factory, clock, settings)
    token = path_of(unsubscribe_url(settings, lead.lead_public_id, "email")).rsplit("/", 1)[1]
    assert client.post(f"/book/{token}", data={"slot": TUE_0900.isoformat()}).status_code == 400
    assert bookings(db.factory) == []


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{ 7*7 }}"])
def test_hostile_name_is_shown_literally_on_the_booking_pages(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    open_week: None,
    name: str,
) -> None:
    lead = capture(db.factory, clock, settings, first_name=name)
    url = page_url(settings, lead.lead_public_id)
    for response in (
        client.get(url),
        client.post(url, data={"slot": TUE_0900.isoformat()}),
        client.get(f"{url}/cancel"),
    ):
        assert response.status_code == 200
        assert name in text_by_id(response.text, "main")
        assert "<script>alert(1)" not in response.text
        assert "49" not in text_by_id(response.text, "main")
