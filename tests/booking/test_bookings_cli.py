"""`nurture bookings`: the front desk's day sheet, cancelling, and availability as a file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.booking.availability import parse_availability
from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import book_slot
from nurture.booking.slots import open_slots
from nurture.cli.main import app
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import get_sessionmaker
from tests.booking.clinic import TUE_0900, TUE_0930, WEEK, set_availability
from tests.factories import capture
from tests.support import START

Invoke = Callable[..., Result]


@pytest.fixture
def nurture() -> Iterator[Invoke]:
    """`nurture ARGS...` in-process on the settings' database, at the tests' Monday 09:00."""
    runner = CliRunner()
    with time_machine.travel(START, tick=False):
        yield lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "200"})


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def booked(nurture: Invoke, settings: Settings, migrated_database: None) -> dict[str, int]:
    """Two leads booked on Tuesday morning, through the same service the web uses."""
    clock = ManualClock(START)
    factory = get_sessionmaker()
    set_availability(factory, clock, capacity=2)
    ids = {}
    for name, at in (("Ann", TUE_0900), ("Ben", TUE_0930)):
        lead = capture(
            factory, clock, settings, email=f"{name.lower()}@example.com", first_name=name
        )
        with factory.begin() as session:
            ids[name] = book_slot(
                session, settings, lead.lead_id, at, source="sms", now=clock.now()
            ).id
    return ids


def test_list_shows_a_days_screenings_in_time_order_in_clinic_time(
    nurture: Invoke, booked: dict[str, int]
) -> None:
    output = ok(nurture("bookings", "list", "--day", "2026-11-03"))
    assert "Screenings on Tue 03 Nov 2026 (America/Chicago)" in output
    lines = [line for line in output.splitlines() if "@example.com" in line]
    assert len(lines) == 2 and "Ann" in lines[0] and "Ben" in lines[1]
    assert "Tue 3 Nov 09:00 CST" in lines[0] and "Tue 3 Nov 09:30 CST" in lines[1]
    assert "confirmed" in lines[0] and "sms" in lines[0]
    assert "none" in ok(nurture("bookings", "list", "--day", "2026-11-04"))
    assert "Ann" in ok(nurture("bookings", "list"))  # upcoming, no day given


def test_bad_day_is_refused_with_the_expected_format(
    nurture: Invoke, booked: dict[str, int]
) -> None:
    assert "--day 'next week': use YYYY-MM-DD" in refused(
        nurture("bookings", "list", "--day", "next week")
    )


def test_cancel_frees_the_booking_and_a_second_cancel_says_so(
    nurture: Invoke, booked: dict[str, int]
) -> None:
    output = ok(nurture("bookings", "cancel", str(booked["Ann"])))
    assert f"Cancelled booking {booked['Ann']} on Tue 3 Nov 09:00 CST" in output
    with get_sessionmaker()() as session:
        booking = session.get(Booking, booked["Ann"])
        assert booking is not None
        assert (booking.status, booking.cancel_source) == (BookingStatus.CANCELLED, "staff-cli")
    assert "already cancelled" in ok(nurture("bookings", "cancel", str(booked["Ann"])))
    assert "no booking 999" in refused(nurture("bookings", "cancel", "999"))
    listed = ok(nurture("bookings", "list", "--day", "2026-11-03"))
    assert "Ann" not in listed and "Ben" in listed
    assert "staff-cli" in ok(nurture("bookings", "list", "--day", "2026-11-03", "--cancelled"))


def test_availability_show_prints_a_file_that_set_accepts(
    nurture: Invoke, tmp_path: Path, settings: Settings
) -> None:
    ok(nurture("db", "upgrade"))
    shown = ok(nurture("bookings", "availability", "show"))
    assert shown.startswith("# Screening availability; times are in America/Chicago.")
    path = tmp_path / "availability.yaml"
    path.write_text(shown.replace("capacity: 1", "capacity: 2"))
    output = ok(nurture("bookings", "availability", "set", "--file", str(path)))
    assert "Saved: 30-minute screenings, 2 at a time, 12 h notice, 21 days ahead" in output
    assert "capacity: 2" in ok(nurture("bookings", "availability", "show"))


def test_availability_set_refuses_a_bad_file_naming_the_field(
    nurture: Invoke, tmp_path: Path, settings: Settings
) -> None:
    ok(nurture("db", "upgrade"))
    before = ok(nurture("bookings", "availability", "show"))
    path = tmp_path / "bad.yaml"
    path.write_text("capacity: 0\nweekly_hours:\n  monday: ['9 to 5']\n")
    output = refused(nurture("bookings", "availability", "set", "--file", str(path)))
    assert "capacity: Input should be greater than or equal to 1" in output
    assert "'9 to 5' is not a range like 09:00-12:30" in output
    assert ok(nurture("bookings", "availability", "show")) == before
    missing = refused(
        nurture("bookings", "availability", "set", "--file", str(tmp_path / "no.yaml"))
    )
    assert "cannot read it" in missing


def test_set_availability_changes_the_slots_offered(
    nurture: Invoke, tmp_path: Path, settings: Settings
) -> None:
    ok(nurture("db", "upgrade"))
    path = tmp_path / "week.yaml"
    path.write_text(
        parse_availability({**WEEK, "weekly_hours": {"friday": ["10:00-11:00"]}}).as_yaml()
    )
    ok(nurture("bookings", "availability", "set", "--file", str(path)))
    with get_sessionmaker()() as session:
        slots = open_slots(session, settings, now=START, limit=3)
    assert [f"{s.starts_at.astimezone(settings.clinic_zone):%a %H:%M}" for s in slots] == [
        "Fri 10:00",
        "Fri 10:30",
        "Fri 10:00",
    ]
    with get_sessionmaker()() as session:
        assert session.scalars(select(Booking)).all() == []
