"""The front desk's bookings page: the week by day, confirm/cancel/no-show, the calendar feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select, update

from nurture.booking.calendar import event_uid
from nurture.booking.models import BookingStatus, DeskStatus
from nurture.booking.notices import CANCELLATION
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.staff.models import AuditEntry, StaffUser
from tests.booking.clinic import TUE_0900, TUE_1000, bookings, notices, set_availability
from tests.booking.test_front_desk import booked
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as
from tests.web.page_parsing import text_by_id

FEED_PATH = "/calendar/{token}.ics"
HOSTILE = "<script>x</script>{{ 7*7 }}"


@pytest.fixture(autouse=True)
def _week(db: Database, clock: ManualClock) -> None:
    set_availability(db.factory, clock)


@pytest.fixture
def desk(client: TestClient, db: Database, clock: ManualClock) -> str:
    """The front desk, signed in; returns the CSRF token."""
    return sign_in_as(client, db, clock, "frontdesk")


def audit(db: Database, action: str) -> list[tuple[str, str]]:
    with db.factory() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [(row.actor, row.target) for row in rows]


def desk_status(db: Database) -> list[tuple[str, str]]:
    return [(b.status, b.desk_status) for b in bookings(db.factory)]


def test_the_week_shows_screenings_under_their_clinic_day(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booked(db, settings, clock, TUE_1000, "lee@example.com", "Lee")
    booked(db, settings, clock, TUE_0900)
    page = client.get("/admin/bookings")
    assert page.status_code == 200
    assert text_by_id(page.text, "day-2026-11-02").startswith("Monday, November 2 (today)")
    tuesday = text_by_id(page.text, "day-2026-11-03")
    assert tuesday.startswith("Tuesday, November 3")
    assert tuesday.index("9:00 AM CST Dana booked") < tuesday.index("10:00 AM CST Lee booked")
    assert "day-2026-11-09" in page.text and "day-2026-11-10" not in page.text


def test_the_week_links_to_the_weeks_before_and_after(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booked(db, settings, clock, TUE_0900)
    page = client.get("/admin/bookings?day=2026-11-10")
    assert page.status_code == 200
    assert 'href="/admin/bookings?day=2026-11-03"' in page.text
    assert 'href="/admin/bookings?day=2026-11-17"' in page.text
    assert "Dana" not in text_by_id(page.text, "bookings")


def test_a_day_that_is_not_a_date_is_explained_and_this_week_shown(
    client: TestClient, desk: str
) -> None:
    page = client.get("/admin/bookings?day=next-tuesday")
    assert page.status_code == 400
    assert "Day: “next-tuesday” is not a date" in page.text
    assert "day-2026-11-02" in page.text
    far = client.get("/admin/bookings?day=9999-12-31")
    assert far.status_code == 400 and "too far away" in far.text


def test_confirming_a_screening_shows_it_confirmed_and_is_audited(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    response = post_form(
        client, f"/admin/bookings/{booking_id}/confirm", desk, {"day": "2026-11-02"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/bookings?day=2026-11-02"
    page = client.get(response.headers["location"])
    assert text_by_id(page.text, "notice") == "Screening confirmed."
    assert text_by_id(page.text, f"status-{booking_id}") == "confirmed"
    assert f'id="confirm-{booking_id}"' not in page.text
    assert audit(db, "booking.confirmed") == [(EMAILS["frontdesk"], str(booking_id))]


def test_cancelling_queues_the_patients_notice_and_is_audited(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    response = post_form(client, f"/admin/bookings/{booking_id}/cancel", desk)
    assert response.status_code == 303
    assert desk_status(db) == [(BookingStatus.CANCELLED, DeskStatus.BOOKED)]
    assert any(f":{CANCELLATION}:" in key for key in notices(db.factory))
    assert audit(db, "booking.cancelled") == [(EMAILS["frontdesk"], str(booking_id))]
    page = client.get("/admin/bookings")
    assert text_by_id(page.text, f"status-{booking_id}") == "cancelled"
    assert f'id="cancel-{booking_id}"' not in page.text


def test_cancelling_twice_shows_why_and_changes_nothing(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    post_form(client, f"/admin/bookings/{booking_id}/cancel", desk)
    again = post_form(client, f"/admin/bookings/{booking_id}/cancel", desk)
    assert again.status_code == 409
    assert "This screening is already cancelled." in again.text
    assert len(audit(db, "booking.cancelled")) == 1


def test_no_show_is_refused_before_the_start_and_recorded_after(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    early = post_form(client, f"/admin/bookings/{booking_id}/no-show", desk)
    assert early.status_code == 409
    assert "has not started yet; it cannot be a no-show" in early.text
    assert f'id="no-show-{booking_id}"' not in client.get("/admin/bookings").text
    clock.set(TUE_0900 + timedelta(minutes=15))
    late = post_form(client, f"/admin/bookings/{booking_id}/no-show", desk)
    assert late.status_code == 303
    assert desk_status(db) == [(BookingStatus.CONFIRMED, DeskStatus.NO_SHOW)]
    assert audit(db, "booking.no_show") == [(EMAILS["frontdesk"], str(booking_id))]
    refused = post_form(client, f"/admin/bookings/{booking_id}/cancel", desk)
    assert refused.status_code == 409 and "cannot be cancelled" in refused.text


def test_an_unknown_screening_or_action_is_not_found(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    assert post_form(client, "/admin/bookings/999999/confirm", desk).status_code == 404
    assert post_form(client, f"/admin/bookings/{booking_id}/approve", desk).status_code == 404


def test_marketing_staff_cannot_open_or_change_bookings(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock
) -> None:
    booking_id = booked(db, settings, clock)
    token = sign_in_as(client, db, clock, "marketing")
    assert client.get("/admin/bookings").status_code == 403
    assert post_form(client, f"/admin/bookings/{booking_id}/cancel", token).status_code == 403
    assert post_form(client, "/admin/bookings/calendar-feed", token).status_code == 403
    assert desk_status(db) == [(BookingStatus.CONFIRMED, DeskStatus.BOOKED)]


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/admin/bookings")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_a_form_without_the_csrf_token_changes_nothing(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booking_id = booked(db, settings, clock)
    for action in ("confirm", "cancel"):
        response = client.post(f"/admin/bookings/{booking_id}/{action}", data={"day": ""})
        assert response.status_code == 403
    assert client.post("/admin/bookings/calendar-feed").status_code == 403
    assert desk_status(db) == [(BookingStatus.CONFIRMED, DeskStatus.BOOKED)]


def test_a_name_with_markup_is_shown_as_text(
    client: TestClient, db: Database, settings: Settings, clock: ManualClock, desk: str
) -> None:
    booked(db, settings, clock, first_name=HOSTILE)
    page = client.get("/admin/bookings")
    assert "<script>x</script>" not in page.text
    assert "&lt;script&gt;x&lt;/script&gt;{{ 7*7 }}" in page.text
    assert HOSTILE in text_by_id(page.text, "day-2026-11-03")


def feed_token(client: TestClient) -> str:
    url = text_by_id(client.get("/admin/bookings").text, "feed-url")
    assert url.startswith("https://care.example.test/calendar/")
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def test_the_calendar_feed_serves_the_screenings_without_a_cookie(
    app: FastAPI,
    client: TestClient,
    db: Database,
    settings: Settings,
    clock: ManualClock,
    desk: str,
) -> None:
    dana = booked(db, settings, clock)
    assert "feed-url" not in client.get("/admin/bookings").text
    made = post_form(client, "/admin/bookings/calendar-feed", desk)
    assert made.status_code == 303
    token = feed_token(client)
    with TestClient(app) as calendar_app:  # no session cookie, as a calendar app fetches it
        response = calendar_app.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert (str(event["UID"]), str(event["SUMMARY"]), event.decoded("DTSTART")) == (
        event_uid(settings, dana),
        "Screening: Dana",
        TUE_0900,
    )
    assert "dana@example.com" not in response.text


def test_resetting_the_link_makes_the_old_feed_address_not_found(
    client: TestClient, db: Database, clock: ManualClock, desk: str
) -> None:
    post_form(client, "/admin/bookings/calendar-feed", desk)
    old = feed_token(client)
    reset = post_form(client, "/admin/bookings/calendar-feed", desk)
    assert reset.status_code == 303
    new = feed_token(client)
    assert new != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{new}.ics").status_code == 200
    [first, second] = audit(db, "calendar_feed.reset")
    assert first[0] == second[0] == EMAILS["frontdesk"]


def test_a_disabled_accounts_feed_is_not_found(
    client: TestClient, db: Database, clock: ManualClock, desk: str
) -> None:
    post_form(client, "/admin/bookings/calendar-feed", desk)
    token = feed_token(client)
    with db.factory.begin() as session:
        session.execute(
            update(StaffUser).where(StaffUser.email == EMAILS["frontdesk"]).values(disabled=True)
        )
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get("/calendar/made-up.ics").status_code == 404
