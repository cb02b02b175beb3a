"""Automatic answers in the lead's language: a Spanish-speaking lead is answered in
Spanish, whatever keyword language they use; every answer has its Spanish text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.replies.intent import Intent
from nurture.replies.texts import reply_text
from tests.factories import capture
from tests.harness import Harness
from tests.replies.conftest import PHONE, Texter
from tests.support import REPO, Database

ANSWERS = sorted(p.name.removesuffix(".txt.j2") for p in (REPO / "templates/replies").glob("*.j2"))
# The values the answers are rendered with (a time as the lead would read it).
SAMPLE: dict[str, object] = {
    "when": "Tue 3 Nov 3:00 PM",
    "moved": False,
    "slots": ["Tue 3 Nov 3:00 PM", "Wed 4 Nov 9:00 AM"],
    "purpose": "book",
    "problem": None,
}


@pytest.fixture
def lucia(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> int:
    return capture(
        db.factory, clock, settings, first_name="Lucía", phone=PHONE, language="es"
    ).lead_id


def test_a_spanish_speaking_lead_who_texts_parar_is_answered_in_spanish(
    lucia: int, text: Texter
) -> None:
    outcome = text("PARAR")
    assert outcome.intent is Intent.STOP
    assert outcome.reply is not None
    assert "se dio de baja" in outcome.reply and "INICIAR" in outcome.reply


def test_an_english_speaking_lead_who_texts_parar_is_answered_in_english(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, text: Texter
) -> None:
    capture(db.factory, clock, settings, phone=PHONE)
    outcome = text("parar")
    assert outcome.intent is Intent.STOP
    assert outcome.reply is not None and "no more texts" in outcome.reply


def test_help_and_start_are_answered_in_the_leads_language(lucia: int, text: Texter) -> None:
    help_reply = text("AYUDA").reply
    assert help_reply is not None and "PARAR" in help_reply
    text("PARAR")
    start = text("INICIAR")
    assert start.intent is Intent.START
    assert start.reply is not None and "se volvió a suscribir" in start.reply


@pytest.mark.parametrize("name", ANSWERS)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_every_answer_has_its_own_spanish_text(settings: Settings, name: str, channel: str) -> None:
    english = reply_text(settings, name, channel, **SAMPLE)
    spanish = reply_text(settings, name, channel, "es", **SAMPLE)
    assert (settings.templates_dir / "replies" / "es" / f"{name}.txt.j2").is_file()
    assert spanish and spanish != english


def test_a_spanish_speaking_lead_gets_the_campaign_in_spanish_until_they_text_parar(
    db: Database, clock: ManualClock, settings: Settings, lucia: int, text: Texter
) -> None:
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=3))
    [welcome] = harness.email.sent
    [hello] = harness.sms.sent
    assert welcome.subject == "Lucía, aquí tiene su guía sobre los isquiotibiales tensos"
    assert "Gracias por pedir nuestra guía" in welcome.text
    assert hello.body.startswith(f"{settings.clinic_name}: Hola Lucía, gracias por descargar")
    assert text("PARAR").intent is Intent.STOP
    harness.run_for(timedelta(days=15), step=timedelta(hours=6))
    assert len(harness.sms.sent) == 1  # nothing after PARAR
    assert all("Hola" in email.text for email in harness.email.sent)  # Spanish to the end
