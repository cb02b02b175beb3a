"""The front desk's calendar feed: a private link per member of staff, and what it lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from nurture.booking.calendar import event_uid
from nurture.booking.feed import feed_url, reset_feed, screenings_feed, staff_for_token
from nurture.booking.models import CalendarFeed
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.staff.models import StaffUser
from tests.booking.clinic import TUE_0900, TUE_0930, TUE_1000, set_availability
from tests.booking.test_front_desk import booked, cancel
from tests.staff.accounts import staff_user
from tests.support import Database

DESK = "desk@riverside-pt.example"


def new_link(db: Database, settings: Settings, clock: ManualClock, staff_id: int) -> str:
    with db.factory.begin() as session:
        feed, _ = reset_feed(session, settings, staff_id, clock.now())
        url = feed_url(settings, feed)
    assert url is not None
    return url


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def opens(db: Database, token: str) -> bool:
    with db.factory() as session:
        return staff_for_token(session, token) is not None


@pytest.fixture
def desk(db: Database, clock: ManualClock) -> int:
    return staff_user(db, clock, email=DESK, role="frontdesk")


def test_the_link_is_public_https_and_the_database_keeps_only_a_hash(
    db: Database, settings: Settings, clock: ManualClock, desk: int
) -> None:
    url = new_link(db, settings, clock, desk)
    assert url.startswith("https://care.example.test/calendar/") and url.endswith(".ics")
    token = token_of(url)
    with db.factory() as session:
        [feed] = session.scalars(select(CalendarFeed))
    assert token not in (feed.nonce, feed.token_hash)
    assert opens(db, token)


def test_resetting_the_link_kills_the_old_one(
    db: Database, settings: Settings, clock: ManualClock, desk: int
) -> None:
    old = token_of(new_link(db, settings, clock, desk))
    new = token_of(new_link(db, settings, clock, desk))
    assert new != old
    assert not opens(db, old)
    assert opens(db, new)


def test_a_disabled_account_or_one_moved_to_marketing_loses_its_feed(
    db: Database, settings: Settings, clock: ManualClock, desk: int
) -> None:
    token = token_of(new_link(db, settings, clock, desk))
    with db.factory.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.id == desk).values(role="marketing"))
    assert not opens(db, token)
    with db.factory.begin() as session:
        session.execute(
            update(StaffUser).where(StaffUser.id == desk).values(role="frontdesk", disabled=True)
        )
    assert not opens(db, token)


def test_an_unknown_token_opens_nothing(db: Database, desk: int) -> None:
    assert not opens(db, "not-a-token")
    assert not opens(db, "")


def test_a_new_server_secret_means_the_page_cannot_show_the_old_link(
    db: Database, settings: Settings, clock: ManualClock, desk: int
) -> None:
    new_link(db, settings, clock, desk)
    rotated = settings.model_copy(update={"secret_key": "another secret of enough length"})
    with db.factory() as session:
        [feed] = session.scalars(select(CalendarFeed))
    assert feed_url(rotated, feed) is None


def test_the_feed_lists_screenings_not_cancelled_with_first_names_only(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock)
    dana = booked(db, settings, clock, TUE_0900)
    lee = booked(db, settings, clock, TUE_1000, "lee@example.com", "Lee")
    gone = booked(db, settings, clock, TUE_0930, "kim@example.com", "Kim")
    cancel(db, settings, clock, gone)
    with db.factory() as session:
        data = screenings_feed(session, settings, settings.clinic_zone, clock.now())
    events = Calendar.from_ical(data).walk("VEVENT")
    assert [
        (str(e["UID"]), e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in events
    ] == [
        (event_uid(settings, dana), TUE_0900, TUE_0900 + timedelta(minutes=30), "Screening: Dana"),
        (event_uid(settings, lee), TUE_1000, TUE_1000 + timedelta(minutes=30), "Screening: Lee"),
    ]
    text = data.decode()
    assert "dana@example.com" not in text and "lee@example.com" not in text
    assert "Kim" not in text


def test_the_feed_keeps_todays_earlier_screenings_and_drops_yesterdays(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    set_availability(db.factory, clock)
    dana = booked(db, settings, clock, TUE_0900)
    with db.factory() as session:
        clock.set(TUE_0900 + timedelta(hours=3))
        later_that_day = screenings_feed(session, settings, settings.clinic_zone, clock.now())
        clock.set(TUE_0900 + timedelta(days=1))
        next_day = screenings_feed(session, settings, settings.clinic_zone, clock.now())
    assert [str(e["UID"]) for e in Calendar.from_ical(later_that_day).walk("VEVENT")] == [
        event_uid(settings, dana)
    ]
    assert Calendar.from_ical(next_day).walk("VEVENT") == []
