"""Locations as code: a YAML file of the group's clinics, checked field by field.

    locations:
      - slug: main            # the default location; empty fields follow the clinic's
      - slug: northside
        name: Riverside Physical Therapy Northside
        address: 48 Oak Avenue, Boulder, CO 80302
        phone: "+13035550188"
        timezone: America/Denver
        sms_sender: "+13035550199"   # a number, or a Messaging Service SID (MG...)
        sms_rate: 1                  # segments a second: a long code sends about 1
        email_from: northside@riverside-pt.example
        front_desk_email: desk-northside@riverside-pt.example   # its booking notices
        area_codes: ["303", "720"]
        zip_prefixes: ["803"]
        availability: {screening_minutes: 30, capacity: 2, weekly_hours: {...}}

`nurture locations sync FILE` writes it; a location left out of the file is kept (its
leads and bookings still point at it), never deleted.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.availability import AvailabilityError, parse_availability
from nurture.clinic import fields
from nurture.leads.submission import normalise_email
from nurture.locations.models import Location

_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_AREA = re.compile(r"^[2-9]\d\d$")
_ZIP_PREFIX = re.compile(r"^\d{1,5}$")


class LocationsError(ValueError):
    """A locations file that does not check out; each problem names its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class LocationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    timezone: str | None = None
    sms_sender: str | None = None
    sms_rate: float | None = Field(None, gt=0, le=1000)
    email_from: str | None = None
    front_desk_email: str | None = None
    area_codes: list[str] = Field(default_factory=list)
    zip_prefixes: list[str] = Field(default_factory=list)
    availability: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return fields.clinic_name(value) if value else None

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return fields.clinic_address(value) if value else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return fields.clinic_phone(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return fields.clinic_timezone(value) if value else None

    @field_validator("sms_sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("MG"):
            if not _SID.match(value):
                raise ValueError("a Messaging Service SID is MG followed by 32 hex digits")
            return value
        return fields.clinic_phone(value)

    @field_validator("email_from", "front_desk_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value) if value else None

    @field_validator("area_codes")
    @classmethod
    def _areas(cls, value: list[str]) -> list[str]:
        for code in value:
            if not _AREA.match(str(code)):
                raise ValueError(f"{code!r} is not a three-digit US area code")
        return [str(code) for code in value]

    @field_validator("zip_prefixes")
    @classmethod
    def _zips(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not _ZIP_PREFIX.match(str(prefix)):
                raise ValueError(f"{prefix!r} is not the start of a ZIP code (1 to 5 digits)")
        return [str(prefix) for prefix in value]

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            return parse_availability(value).model_dump(mode="json")
        except AvailabilityError as exc:
            raise ValueError("; ".join(exc.problems)) from None


class LocationsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locations: list[LocationSpec] = Field(min_length=1)


def parse_locations(data: object) -> list[LocationSpec]:
    """The checked locations, or LocationsError naming every bad field (locations.2.phone)."""
    try:
        parsed = LocationsFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "file"
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise LocationsError(problems) from None
    slugs = [spec.slug for spec in parsed.locations]
    repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if repeated:
        raise LocationsError([f"locations: {slug!r} is listed twice" for slug in repeated])
    return parsed.locations


def read_locations_file(path: Path) -> list[LocationSpec]:
    """The locations in a YAML file, or LocationsError saying what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocationsError([f"{path}: cannot read it ({exc.strerror or exc})"]) from None
    except yaml.YAMLError as exc:
        raise LocationsError([f"{path}: not valid YAML ({exc})"]) from None
    return parse_locations(data)


def sync_locations(
    session: Session, specs: list[LocationSpec], now: datetime
) -> tuple[list[str], list[str]]:
    """Create or update each location by slug; (created, updated) slugs."""
    existing = {row.slug: row for row in session.scalars(select(Location))}
    created, updated = [], []
    for spec in specs:
        values = spec.model_dump(exclude={"slug"})
        row = existing.get(spec.slug)
        if row is None:
            session.add(Location(slug=spec.slug, created_at=now, **values))
            created.append(spec.slug)
            continue
        for name, value in values.items():
            setattr(row, name, value)
        updated.append(spec.slug)
    session.flush()
    return created, updated
