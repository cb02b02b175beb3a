"""Times offered by text to a Spanish-speaking lead read as Spanish (nurture.booking.display)."""

from __future__ import annotations

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.segments import count_segments
from tests.booking.clinic import set_availability
from tests.factories import capture
from tests.replies.conftest import PHONE, Texter
from tests.support import Database


def test_a_spanish_speaking_lead_who_texts_cita_is_offered_times_in_spanish(
    db: Database, settings: Settings, clock: ManualClock, campaign: int, text: Texter
) -> None:
    set_availability(db.factory, clock)
    capture(db.factory, clock, settings, first_name="Lucía", phone=PHONE, language="es")
    reply = text("CITA").reply
    assert reply is not None
    assert "1) mar 3 nov, 9:00 a.m. CST" in reply
    assert "Responda 1, 2 o 3 para reservar." in reply


def test_spanish_texts_that_offer_and_confirm_times_keep_to_gsm7(
    db: Database, settings: Settings, clock: ManualClock, campaign: int, text: Texter
) -> None:
    # One letter outside GSM-7 (the ó of "evaluación") makes a text UCS-2: 70 characters
    # a segment instead of 160, so the offer would cost three segments instead of two.
    set_availability(db.factory, clock)
    capture(db.factory, clock, settings, first_name="Lucía", phone=PHONE, language="es")
    offer, booked = text("CITA").reply, text("1").reply
    assert offer is not None and booked is not None
    assert "Listo, tiene cita: chequeo gratis el mar 3 nov, 9:00 a.m. CST" in booked
    for reply in (offer, booked):
        assert count_segments(reply).encoding == "GSM-7", reply
    assert count_segments(offer).segments <= 2
