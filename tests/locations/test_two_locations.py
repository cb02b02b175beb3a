"""A group of two clinics in different zones: each lead is written to, answered and
booked as their own location (its number, name, hours, slots and front desk)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from nurture.booking.models import Booking, BookingSeat
from nurture.booking.service import book_slot
from nurture.booking.slots import open_slots
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.locations.directory import Locations
from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.models import Message
from nurture.messages.senders import sender_for
from nurture.replies.intent import Intent
from nurture.replies.models import InboxItem, SlotOffer
from nurture.replies.sms_inbound import InboundSms, SmsOutcome, receive_sms
from tests.factories import capture
from tests.harness import Harness
from tests.locations.conftest import CLINIC_NUMBER, NORTHSIDE_NUMBER
from tests.support import Database

DENVER = ZoneInfo("America/Denver")
LUCIA_PHONE = "+13035550123"
DANA_PHONE = "+12175550199"


_sids = iter(range(1, 10_000))


def _text(
    db: Database, settings: Settings, clock: ManualClock, sender: str, body: str, to: str
) -> SmsOutcome:
    """`sender` texts `body` to the clinic number `to`."""
    sid = f"SM{next(_sids):032d}"
    with db.factory.begin() as session:
        return receive_sms(session, settings, InboundSms(sid, sender, body, "", to), clock.now())


@pytest.mark.usefixtures("locations", "campaign")
def test_a_spanish_speaking_lead_of_the_second_location_hears_from_it_in_spanish_until_parar(
    db: Database, clock: ManualClock, twilio_settings: Settings
) -> None:
    settings = twilio_settings
    capture(db.factory, clock, settings, email="dana@example.com", phone=DANA_PHONE)
    capture(
        db.factory,
        clock,
        settings,
        email="lucia@example.com",
        first_name="Lucía",
        phone=LUCIA_PHONE,
        timezone=None,  # her zone is her clinic's
        language="es",
        location="northside",
    )
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=2), step=timedelta(hours=1))
    texts = [m for m in harness.sms.sent if isinstance(m, OutboundSms)]
    lucia = [m for m in texts if m.to == LUCIA_PHONE]
    dana = [m for m in texts if m.to == DANA_PHONE]
    assert lucia and dana
    assert {m.sender for m in lucia} == {NORTHSIDE_NUMBER}
    assert {m.sender for m in dana} == {CLINIC_NUMBER}
    assert "Hola Lucía" in lucia[0].body
    assert lucia[0].body.startswith("Riverside PT Northside:")
    emails = [m for m in harness.email.sent if isinstance(m, OutboundEmail)]
    to_lucia = [m for m in emails if m.to == "lucia@example.com"]
    assert {(m.from_email, m.from_name) for m in to_lucia} == {
        ("northside@riverside-pt.example", "Riverside PT Northside")
    }
    assert all("48 Oak Avenue, Boulder" in m.text for m in to_lucia)  # her clinic's footer

    # Every text to her went out inside the legal hours where she and her clinic are.
    with db.factory() as session:
        sent_at = session.scalars(
            select(Message.sent_at)
            .join(Lead, Lead.id == Message.lead_id)
            .where(Lead.phone == LUCIA_PHONE, Message.channel == Channel.SMS)
        ).all()
    assert sent_at and all(8 <= moment.astimezone(DENVER).hour < 21 for moment in sent_at if moment)

    answer = _text(db, settings, clock, LUCIA_PHONE, "PARAR", NORTHSIDE_NUMBER)
    assert answer.intent is Intent.STOP and answer.reply is not None
    assert "se dio de baja" in answer.reply
    before = len(lucia)
    harness.run_for(timedelta(days=15), step=timedelta(hours=6))
    after = [m for m in harness.sms.sent if isinstance(m, OutboundSms) and m.to == LUCIA_PHONE]
    assert len(after) == before  # nothing after PARAR
    assert len(
        [m for m in harness.sms.sent if isinstance(m, OutboundSms) and m.to == DANA_PHONE]
    ) > len(dana)


@pytest.mark.usefixtures("locations", "campaign")
def test_each_location_has_its_own_sender_and_rate(
    db: Database, clock: ManualClock, twilio_settings: Settings
) -> None:
    with db.factory() as session:
        locations = Locations.load(session)
    northside = locations.by_slug("northside")
    assert northside is not None
    main = sender_for(locations.settings(twilio_settings, locations.default.id), Channel.SMS)
    north = sender_for(locations.settings(twilio_settings, northside.id), Channel.SMS)
    assert main.key == f"twilio:{CLINIC_NUMBER}" and main.rate == 1.0
    assert north.key == f"twilio:{NORTHSIDE_NUMBER}" and north.rate == 2.0


@pytest.mark.usefixtures("locations", "campaign")
def test_a_lead_is_offered_and_booked_their_own_clinics_times_in_its_zone(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    lucia = capture(
        db.factory,
        clock,
        settings,
        email="lucia@example.com",
        phone=LUCIA_PHONE,
        location="northside",
        language="es",
    )
    answer = _text(db, settings, clock, LUCIA_PHONE, "CITA", NORTHSIDE_NUMBER)
    assert answer.intent is Intent.BOOK
    with db.factory() as session:
        offer = session.scalars(select(SlotOffer)).one()
        northside = Locations.load(session).by_slug("northside")
    assert northside is not None
    local = [datetime.fromisoformat(start).astimezone(DENVER) for start in offer.starts]
    # Northside screens on Tuesdays 13:00-15:00 and Wednesdays 08:00-09:00, Denver time.
    assert all((t.weekday(), t.hour) in {(1, 13), (1, 14), (2, 8)} for t in local)

    # Both clinics may fill their own first seat at the same moment.
    dana = capture(db.factory, clock, settings, email="dana@example.com", phone=DANA_PHONE)
    starts = local[0]
    with db.factory.begin() as session:
        main_slots = open_slots(session, settings, now=clock.now(), limit=200)
        shared = next((s.starts_at for s in main_slots if s.starts_at == starts), None)
        booked = book_slot(session, settings, lucia.lead_id, starts, source="test", now=clock.now())
        assert booked.location_id == northside.id
        if shared is not None:
            other = book_slot(
                session, settings, dana.lead_id, shared, source="test", now=clock.now()
            )
            assert other.location_id != northside.id
    with db.factory() as session:
        seats = session.scalars(select(BookingSeat)).all()
        assert {seat.location_id for seat in seats} >= {northside.id}
        assert session.scalars(select(Booking)).all()
        # Her clinic's front desk hears of it, with her clinic's name.
        notices = session.scalars(
            select(Message).where(
                Message.lead_id == lucia.lead_id, Message.step_key.like("%front-desk%")
            )
        ).all()
    assert [n.content["to"] for n in notices if n.content] == [
        "desk-northside@riverside-pt.example"
    ]


@pytest.mark.usefixtures("locations", "campaign")
def test_a_text_from_a_stranger_reaches_the_front_desk_of_the_number_texted(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    _text(db, settings, clock, "+15055550100", "Do you take Medicare?", NORTHSIDE_NUMBER)
    _text(db, settings, clock, "+15055550101", "Are you open Saturdays?", CLINIC_NUMBER)
    with db.factory() as session:
        northside = Locations.load(session).by_slug("northside")
        items = session.scalars(select(InboxItem).order_by(InboxItem.id)).all()
    assert northside is not None
    assert [item.location_id for item in items] == [northside.id, 1]
