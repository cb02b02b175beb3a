"""A group of two clinics: the default one (Springfield, Chicago time, the clinic's
settings) and Northside in Denver with its own number, sender address and hours."""

from __future__ import annotations

import pytest

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.locations.spec import parse_locations, sync_locations
from tests.support import Database

NORTHSIDE_NUMBER = "+13035550111"
CLINIC_NUMBER = "+12175550100"
NORTHSIDE = {
    "slug": "northside",
    "name": "Riverside PT Northside",
    "address": "48 Oak Avenue, Boulder, CO 80302",
    "phone": "+13035550188",
    "timezone": "America/Denver",
    "sms_sender": NORTHSIDE_NUMBER,
    "sms_rate": 2,
    "email_from": "northside@riverside-pt.example",
    "front_desk_email": "desk-northside@riverside-pt.example",
    "area_codes": ["303", "720"],
    "zip_prefixes": ["803"],
    "availability": {
        "screening_minutes": 30,
        "capacity": 1,
        "minimum_notice_hours": 2,
        "weekly_hours": {"tuesday": ["13:00-15:00"], "wednesday": ["08:00-09:00"]},
    },
}


@pytest.fixture
def locations(db: Database, clock: ManualClock) -> None:
    """The default location and Northside, synced as `nurture locations sync` would."""
    specs = parse_locations({"locations": [{"slug": "main"}, NORTHSIDE]})
    with db.factory.begin() as session:
        sync_locations(session, specs, clock.now())


@pytest.fixture
def twilio_settings(settings: Settings) -> Settings:
    """The test settings with texts going through Twilio from the clinic's own number."""
    return settings.model_copy(
        update={"sms_channel": "twilio", "twilio_from_number": CLINIC_NUMBER, "sms_send_rate": 1.0}
    )
