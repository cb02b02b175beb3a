"""Times as a Spanish-speaking lead reads them: in booking notices and text replies, in
Spanish words, and in text messages without a letter that would make the text UCS-2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from nurture.booking.display import at_clinic, when
from nurture.booking.service import book_slot
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.segments import count_segments
from tests.booking.clinic import set_availability
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

CHICAGO = ZoneInfo("America/Chicago")
# Tuesday 8 December 2026, 10:30 in Chicago; Saturday 5 December, 14:00.
TUE_8_DEC = datetime(2026, 12, 8, 16, 30, tzinfo=UTC)
SAT_5_DEC = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
# Thursday 5 November 2026, 09:00 in Chicago (the test clinic's open week).
THU_0900 = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)


def test_a_time_reads_as_spanish_words_for_a_spanish_speaking_lead() -> None:
    words = when(TUE_8_DEC, CHICAGO, "es")
    assert words.full == "martes 8 de diciembre, 10:30 a.m. CST"
    assert words.short == "mar 8 dic, 10:30 a.m. CST"
    assert str(when(SAT_5_DEC, CHICAGO, "es")) == "sábado 5 de diciembre, 2:00 p.m. CST"


def test_english_times_read_as_before() -> None:
    words = when(TUE_8_DEC, CHICAGO)
    assert words.full == "Tuesday, December 8 at 10:30 AM CST"
    assert words.short == "Tue Dec 8, 10:30 AM CST"


def test_the_leads_own_clock_is_added_in_their_language() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    words = at_clinic(TUE_8_DEC, CHICAGO, tokyo, "es")
    assert words.clock == "10:30 a.m. CST (mié 1:30 a.m. JST en su zona)"


def test_a_time_in_a_text_message_keeps_to_gsm7_letters() -> None:
    # "sáb" has an á, which GSM-7 lacks: one such letter makes a text UCS-2 (70 a segment).
    saturday = when(SAT_5_DEC, CHICAGO, "es").short
    assert saturday == "sab 5 dic, 2:00 p.m. CST"
    assert count_segments(saturday).encoding == "GSM-7"
    wednesday = when(datetime(2026, 12, 9, 16, 30, tzinfo=UTC), CHICAGO, "es").short
    assert wednesday.startswith("mié 9 dic")  # é is GSM-7: it keeps its accent


def test_a_spanish_speaking_lead_gets_booking_notices_in_spanish(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, first_name="Lucía", language="es")
    with db.factory.begin() as session:
        book_slot(session, settings, lead.lead_id, THU_0900, source="test", now=clock.now())
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [confirmation] = [
        m for m in harness.email.sent if isinstance(m, OutboundEmail) and m.attachments
    ]
    assert confirmation.subject == "Su evaluación gratuita: jueves 5 de noviembre, 9:00 a.m. CST"
    assert "Hola Lucía:" in confirmation.text
    assert '<html lang="es">' in confirmation.html
    [text] = [m.body for m in harness.sms.sent if isinstance(m, OutboundSms)]
    assert "su chequeo gratis queda reservado para el jue 5 nov, 9:00 a.m. CST" in text
    # The notice's own words keep to GSM-7 too: a full 160 characters a segment.
    assert count_segments(text).encoding == "GSM-7"
