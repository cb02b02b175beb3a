"""When the clinic offers free screenings: weekly hours, length, capacity, closed dates.

The clinic's availability is data staff change (`nurture bookings availability set`,
later a settings page), stored in the database and seeded from
`templates/clinic/availability.yaml` the first time it is needed. Hours are wall-clock
times in the clinic's zone (settings.clinic_timezone).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.models import ClinicSetting
from nurture.config import Settings
from nurture.db import upsert_insert
from nurture.locations.models import DEFAULT_LOCATION_ID, Location

SETTING_KEY = "availability"
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class AvailabilityError(ValueError):
    """Availability that does not validate; each problem names its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _parse_range(value: str) -> tuple[time, time]:
    match = _RANGE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a range like 09:00-12:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{value!r} is not a valid time range")
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise ValueError(f"{value!r} ends before it starts")
    return start, end


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


class Availability(BaseModel):
    """The clinic's screening availability, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    screening_minutes: int = Field(30, ge=5, le=480)
    capacity: int = Field(1, ge=1, le=50, description="screenings at the same time")
    minimum_notice_hours: int = Field(12, ge=0, le=24 * 60)
    horizon_days: int = Field(21, ge=1, le=365)
    weekly_hours: dict[Weekday, tuple[str, ...]] = Field(default_factory=dict)
    closed_dates: tuple[date, ...] = ()

    @field_validator("weekly_hours", mode="before")
    @classmethod
    def _none_is_closed(cls, value: Any) -> Any:
        # YAML `sunday:` with nothing after it means closed.
        if isinstance(value, dict):
            return {day: ranges or () for day, ranges in value.items()}
        return value

    @field_validator("weekly_hours")
    @classmethod
    def _normalised_ranges(
        cls, value: dict[Weekday, tuple[str, ...]]
    ) -> dict[Weekday, tuple[str, ...]]:
        result: dict[Weekday, tuple[str, ...]] = {}
        for day in WEEKDAYS:
            ranges = sorted((_parse_range(r) for r in value.get(day, ())), key=lambda r: r[0])
            for (_, end), (start, _) in pairwise(ranges):
                if start < end:
                    raise ValueError(f"{day}: opening hours overlap at {start:%H:%M}")
            if ranges:
                result[day] = tuple(f"{s:%H:%M}-{e:%H:%M}" for s, e in ranges)
        return result

    @field_validator("closed_dates")
    @classmethod
    def _sorted_dates(cls, value: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _ranges_fit_a_screening(self) -> Availability:
        for day, ranges in self.weekly_hours.items():
            for text in ranges:
                start, end = _parse_range(text)
                if _minutes(end) - _minutes(start) < self.screening_minutes:
                    raise ValueError(
                        f"weekly_hours.{day}: {text} is shorter than one "
                        f"{self.screening_minutes}-minute screening"
                    )
        return self

    def ranges(self, weekday: int) -> list[tuple[time, time]]:
        """Opening ranges on a weekday (0 = Monday), in order."""
        return [_parse_range(r) for r in self.weekly_hours.get(WEEKDAYS[weekday], ())]

    def is_closed(self, day: date) -> bool:
        """Whether `day` (a clinic-local date) is a closed date."""
        return day in self.closed_dates

    def as_yaml(self) -> str:
        """The availability in the file format `availability set --file` reads."""
        data = self.model_dump(mode="json")
        data["weekly_hours"] = {day: list(data["weekly_hours"].get(day, [])) for day in WEEKDAYS}
        data["closed_dates"] = list(data["closed_dates"])
        return yaml.safe_dump(data, sort_keys=False)


def parse_availability(data: object) -> Availability:
    """Validate availability data; AvailabilityError names every bad field."""
    try:
        return Availability.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "availability"
            problems.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
        raise AvailabilityError(problems) from None


def read_availability_file(path: Path) -> Availability:
    """Availability from a YAML file, or AvailabilityError saying what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AvailabilityError([f"cannot read it ({exc.strerror or exc})"]) from None
    except yaml.YAMLError as exc:
        raise AvailabilityError([f"not valid YAML ({exc})"]) from None
    return parse_availability(data if data is not None else {})


def default_availability(settings: Settings) -> Availability:
    """The availability shipped with the templates, used until staff save their own."""
    return read_availability_file(settings.templates_dir / "clinic" / "availability.yaml")


def stored_availability(session: Session) -> Availability | None:
    """The availability saved in the database, if any."""
    row = session.get(ClinicSetting, SETTING_KEY)
    return None if row is None else parse_availability(row.value)


def load_availability(
    session: Session, settings: Settings, now: datetime, location_id: int = DEFAULT_LOCATION_ID
) -> Availability:
    """A location's availability: its own when it has hours of its own, else the clinic's
    (the first call stores the shipped default)."""
    own = session.scalar(select(Location.availability).where(Location.id == location_id))
    if own:
        return parse_availability(own)
    stored = stored_availability(session)
    if stored is not None:
        return stored
    default = default_availability(settings)
    # Storing it pins the hours: a later change to the shipped file does not move them.
    session.execute(
        upsert_insert(session)(ClinicSetting)
        .values(key=SETTING_KEY, value=default.model_dump(mode="json"), updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return stored_availability(session) or default


def save_availability(session: Session, availability: Availability, now: datetime) -> None:
    """Replace the clinic's availability; bookings already made keep their times."""
    row = session.get(ClinicSetting, SETTING_KEY)
    value = availability.model_dump(mode="json")
    if row is None:
        session.add(ClinicSetting(key=SETTING_KEY, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()
