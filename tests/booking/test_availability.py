"""Availability is clinic data: seeded from the shipped file once, then changed by staff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from nurture.booking.availability import (
    Availability,
    AvailabilityError,
    default_availability,
    load_availability,
    parse_availability,
    read_availability_file,
    save_availability,
)
from nurture.booking.models import ClinicSetting
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.booking.clinic import WEEK
from tests.support import REPO, Database


def test_shipped_availability_file_is_valid_with_the_documented_defaults(
    settings: Settings,
) -> None:
    shipped = default_availability(settings)
    assert (shipped.screening_minutes, shipped.capacity) == (30, 1)
    assert (shipped.minimum_notice_hours, shipped.horizon_days) == (12, 21)
    assert shipped.ranges(0)  # open on Mondays
    assert shipped.ranges(6) == []  # closed on Sundays


def test_first_use_stores_the_shipped_availability_so_a_later_file_change_moves_nothing(
    db: Database, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates" / "clinic", templates / "clinic")
    ours = settings.model_copy(update={"templates_dir": templates})
    with db.factory.begin() as session:
        first = load_availability(session, ours, clock.now())
    (templates / "clinic" / "availability.yaml").write_text("capacity: 9\n")
    with db.factory.begin() as session:
        assert load_availability(session, ours, clock.now()) == first
        assert session.scalars(select(ClinicSetting.key)).all() == ["availability"]


def test_saved_availability_is_what_every_later_session_sees(
    db: Database, settings: Settings, clock: ManualClock
) -> None:
    chosen = parse_availability({**WEEK, "capacity": 3, "closed_dates": ["2026-12-31"]})
    with db.factory.begin() as session:
        save_availability(session, chosen, clock.now())
    with db.factory() as session:
        loaded = load_availability(session, settings, clock.now())
    assert loaded == chosen and loaded.capacity == 3
    assert [str(d) for d in loaded.closed_dates] == ["2026-12-31"]


def test_availability_round_trips_through_its_yaml_file_format(tmp_path: Path) -> None:
    chosen = parse_availability(WEEK)
    path = tmp_path / "availability.yaml"
    path.write_text(chosen.as_yaml())
    assert read_availability_file(path) == chosen
    assert "sunday: []" in chosen.as_yaml()


def test_hours_are_normalised_and_sorted(tmp_path: Path) -> None:
    availability = parse_availability({"weekly_hours": {"monday": ["13:00 - 17:00", "9:00-12:00"]}})
    assert availability.weekly_hours["monday"] == ("09:00-12:00", "13:00-17:00")


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"capacity": 0}, "capacity", "greater than or equal to 1"),
        ({"screening_minutes": "half an hour"}, "screening_minutes", "valid integer"),
        ({"weekly_hours": {"monday": ["9-12"]}}, "weekly_hours", "not a range like 09:00-12:30"),
        ({"weekly_hours": {"monday": ["12:00-09:00"]}}, "weekly_hours", "ends before it starts"),
        (
            {"weekly_hours": {"monday": ["09:00-12:00", "11:00-13:00"]}},
            "weekly_hours",
            "monday: opening hours overlap at 11:00",
        ),
        ({"weekly_hours": {"funday": ["09:00-12:00"]}}, "weekly_hours.funday", "monday"),
        ({"closed_dates": ["next tuesday"]}, "closed_dates.0", "valid date"),
        ({"horizon_days": 21, "capacty": 2}, "capacty", "Extra inputs are not permitted"),
        (
            {"screening_minutes": 60, "weekly_hours": {"friday": ["09:00-09:30"]}},
            "availability",
            "weekly_hours.friday: 09:00-09:30 is shorter than one 60-minute screening",
        ),
    ],
)
def test_invalid_availability_is_refused_naming_the_field(
    data: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(AvailabilityError) as caught:
        parse_availability(data)
    problem = caught.value.problems[0]
    assert problem.startswith(f"{field}") and words in problem, problem


def test_unreadable_or_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AvailabilityError, match="cannot read it"):
        read_availability_file(tmp_path / "availability.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("weekly_hours: [unclosed\n")
    with pytest.raises(AvailabilityError, match="not valid YAML"):
        read_availability_file(broken)


def test_empty_file_means_the_defaults_with_no_opening_hours(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert read_availability_file(empty) == Availability()
