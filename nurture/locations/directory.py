"""The group's locations, read once per unit of work, and what each changes in Settings.

A location is an overlay on the clinic's settings: the fields it sets replace the
clinic's name, address, phone, zone, senders and rate; the rest follow the clinic. So
every piece of code that already takes `Settings` (composing, the gate's hours, slots,
.ics files, notices) serves a location by being handed `Locations.settings(...)`, and
one clinic with no location configured behaves exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.locations.models import DEFAULT_LOCATION_ID, Location
from nurture.phones import is_messaging_service, parse_stored

_DIGITS = re.compile(r"\d+")


class UnknownLocation(LookupError):
    """No location has this slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"no location is called {slug!r}")
        self.slug = slug


@dataclass(frozen=True, slots=True)
class Place:
    """A location as the rest of the code reads it: plain values, safe after a session."""

    id: int
    slug: str
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    timezone: str | None = None
    sms_sender: str | None = None
    sms_rate: float | None = None
    email_from: str | None = None
    front_desk_email: str | None = None
    availability: dict[str, Any] | None = None
    area_codes: tuple[str, ...] = ()
    zip_prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: Location) -> Place:
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            address=row.address,
            phone=row.phone,
            timezone=row.timezone,
            sms_sender=row.sms_sender,
            sms_rate=row.sms_rate,
            email_from=row.email_from,
            front_desk_email=row.front_desk_email,
            availability=row.availability,
            area_codes=tuple(row.area_codes or ()),
            zip_prefixes=tuple(row.zip_prefixes or ()),
        )

    def label(self, settings: Settings) -> str:
        """What staff and leads call it: its name, or the clinic's for the default."""
        return self.name or settings.clinic_name


def overlay(base: Settings, place: Place) -> Settings:
    """`base` as seen from `place`: the fields the location sets replace the clinic's."""
    update: dict[str, object] = {}
    for setting, value in (
        ("clinic_name", place.name),
        ("clinic_address", place.address),
        ("clinic_phone", place.phone),
        ("clinic_timezone", place.timezone),
        ("email_from", place.email_from),
        ("front_desk_email", place.front_desk_email),
        ("sms_send_rate", place.sms_rate),
    ):
        if value is not None and value != "":
            update[setting] = value
    if place.sms_sender:
        # One sender per location: a number replaces the clinic's Messaging Service too,
        # or the provider would still spread the location's texts over the clinic's pool.
        if is_messaging_service(place.sms_sender):
            update["twilio_messaging_service_sid"] = place.sms_sender
        else:
            update["twilio_from_number"] = place.sms_sender
            update["twilio_messaging_service_sid"] = ""
    return base.model_copy(update=update) if update else base


@dataclass(slots=True)
class Locations:
    """Every location by id; unknown ids (a row removed since) read as the default."""

    places: dict[int, Place]
    _settings: dict[tuple[int, int], Settings] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Locations:
        rows = session.scalars(select(Location).order_by(Location.id)).all()
        places = {row.id: Place.of(row) for row in rows}
        if DEFAULT_LOCATION_ID not in places:  # a database before the locations migration
            places[DEFAULT_LOCATION_ID] = Place(DEFAULT_LOCATION_ID, "main")
        return cls(places)

    @classmethod
    def single(cls) -> Locations:
        """Only the default location (tests and tools with no database at hand)."""
        return cls({DEFAULT_LOCATION_ID: Place(DEFAULT_LOCATION_ID, "main")})

    @property
    def default(self) -> Place:
        return self.places[DEFAULT_LOCATION_ID]

    def __iter__(self) -> Iterator[Place]:
        return iter(self.places.values())

    def __len__(self) -> int:
        return len(self.places)

    def get(self, location_id: int | None) -> Place:
        return self.places.get(location_id or DEFAULT_LOCATION_ID, self.default)

    def by_slug(self, slug: str) -> Place | None:
        wanted = slug.strip().lower()
        return next((p for p in self.places.values() if p.slug == wanted), None)

    def settings(self, base: Settings, location_id: int | None) -> Settings:
        """The settings a message, page or slot of this location uses (cached per base)."""
        place = self.get(location_id)
        key = (id(base), place.id)
        if key not in self._settings:
            self._settings[key] = overlay(base, place)
        return self._settings[key]

    def for_number(self, number: str | None) -> Place | None:
        """The location whose texts go from `number` (an inbound text's To), if any."""
        if not number:
            return None
        return next((p for p in self.places.values() if p.sms_sender == number), None)

    def nearest(self, *, zip_code: str | None = None, phone: str | None = None) -> Place:
        """The location serving a ZIP code (longest prefix wins) or else the phone's area
        code; the default location when neither matches."""
        digits = "".join(_DIGITS.findall(zip_code or ""))
        if digits:
            best: tuple[int, Place] | None = None
            for place in self.places.values():
                for prefix in place.zip_prefixes:
                    if digits.startswith(prefix) and (best is None or len(prefix) > best[0]):
                        best = (len(prefix), place)
            if best is not None:
                return best[1]
        number = parse_stored(phone)
        if number is not None and number.country_code == 1:
            area = str(number.national_number)[:3]
            for place in self.places.values():
                if area in place.area_codes:
                    return place
        return self.default


def place_of_lead(session: Session, lead_id: int) -> Place:
    """The location a lead belongs to (the default when theirs is gone)."""
    row = session.scalar(
        select(Location).join(Lead, Lead.location_id == Location.id).where(Lead.id == lead_id)
    )
    return Place.of(row) if row is not None else Locations.load(session).default


def lead_settings(session: Session, base: Settings, lead_id: int) -> tuple[Settings, Place]:
    """`base` as the lead's location sees it, and that location."""
    place = place_of_lead(session, lead_id)
    return overlay(base, place), place


def staff_scope(location_ids: list[int] | None) -> list[int] | None:
    """The locations a member of staff may see (StaffUser.location_ids); None: all."""
    return sorted(set(location_ids)) if location_ids else None


def in_scope(scope: Collection[int] | None, location_id: int) -> bool:
    """Whether a row of `location_id` is visible to someone limited to `scope`."""
    return scope is None or location_id in scope
