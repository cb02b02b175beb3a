"""The pages a lead sees, in English or Spanish: the form follows ?lang=, the article and
the browser; pages behind a lead's link follow the lead; every English message on them
has its Spanish."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.requests import Request

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.sync import sync_campaign
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.consent.wording import wording_for
from nurture.leads.models import Lead
from nurture.links import article_url, booking_url, unsubscribe_url
from nurture.messages.channels.base import OutboundEmail
from nurture.web.i18n import catalogue_path
from nurture.web.public import article_language
from tests.booking.clinic import set_availability
from tests.factories import ARTICLE, capture
from tests.harness import Harness
from tests.support import REPO, Database
from tests.web.conftest import path_of
from tests.web.page_parsing import form_fields, label_texts, text_by_id

SPANISH_BROWSER = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
LANDING = f"/articles/{ARTICLE}"
DOWNLOAD = f"/articles/{ARTICLE}/download"
GOOD = {
    "first_name": "Lucía",
    "email": "lucia@example.com",
    "phone": "(217) 555-0199",
    "timezone": "America/Chicago",
    "consent_email": "yes",
    "consent_sms": "yes",
}


def marked_messages() -> set[str]:
    """Every message babel.cfg's extraction finds in the lead-facing pages and nurture/web."""
    with (REPO / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(
        str(REPO), method_map, options_map, keywords={"_": None, "gettext": None, "N_": None}
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_message_on_the_pages_a_lead_sees_has_its_spanish() -> None:
    with catalogue_path("es").open("rb") as po:
        catalogue = read_po(po, locale="es")
    marked = marked_messages()
    assert len(marked) > 100  # the extraction found the templates and the marked Python
    missing = sorted(
        message
        for message in marked
        if message not in catalogue or not catalogue[message].string or catalogue[message].fuzzy
    )
    assert missing == [], "run `make messages` and write the Spanish for these"
    # A translation that drops or renames a %(placeholder)s would lose the value it shows.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []


def test_a_spanish_speaking_browser_gets_the_form_in_spanish(
    client: TestClient, settings: Settings
) -> None:
    page = client.get(LANDING, headers=SPANISH_BROWSER).text
    assert '<html lang="es">' in page
    assert "¿será el nervio ciático?" in text_by_id(page, "main")
    labels = label_texts(page)
    assert labels["first_name"] == "Nombre"
    assert labels["consent_sms"] == wording_for(Channel.SMS, "es").text(settings.clinic_name)
    assert form_fields(page)["language"] == "es"
    # A way back to English, named in English.
    assert f'<a href="{LANDING}?lang=en" hreflang="en" lang="en">English</a>' in page


def test_lang_in_the_address_wins_over_the_browser(client: TestClient) -> None:
    page = client.get(f"{LANDING}?lang=en", headers=SPANISH_BROWSER).text
    assert '<html lang="en">' in page
    assert label_texts(page)["first_name"] == "First name"
    spanish = client.get(f"{LANDING}?lang=es").text
    assert '<html lang="es">' in spanish and "Envíenme la guía" in spanish


def test_an_article_written_in_one_language_sets_its_pages_language(
    settings: Settings, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    (templates / "articles").mkdir(parents=True)
    spanish = (REPO / "templates" / "articles" / f"{ARTICLE}.es.md").read_text(encoding="utf-8")
    (templates / "articles" / "solo-espanol.md").write_text(spanish, encoding="utf-8")
    ours = settings.model_copy(update={"templates_dir": templates})
    english_browser = Request(
        {"type": "http", "path": "/", "headers": [(b"accept-language", b"en")]}
    )
    assert article_language(english_browser, ours, "solo-espanol", "") == "es"
    assert article_language(english_browser, ours, "solo-espanol", "en") == "en"  # ?lang= wins


def test_an_article_link_in_spanish_opens_the_spanish_article(
    client: TestClient, settings: Settings
) -> None:
    url = article_url(settings, ARTICLE, "es")
    assert url.endswith(f"/articles/{ARTICLE}/read?lang=es")
    page = client.get(url.removeprefix(settings.public_base_url)).text
    assert '<article class="prose" lang="es">' in page
    assert "El nervio ciático nace en la parte baja de la espalda." in page
    assert article_url(settings, ARTICLE).endswith("/read")  # English links stay as they were


def test_form_errors_are_shown_in_the_forms_language_and_nothing_is_stored(
    client: TestClient, db: Database, campaign: int
) -> None:
    bad = {**GOOD, "email": "lucia-at-example", "language": "es"}
    response = client.post(DOWNLOAD, data=bad)
    assert response.status_code == 422
    page = response.text
    assert '<html lang="es">' in page
    assert "Revise este campo" in page
    assert (
        "Correo electrónico: Escriba un correo electrónico válido, por ejemplo "
        "nombre@ejemplo.com." in " ".join(text_by_id(page, "main").split())
    )
    assert form_fields(page)["first_name"] == "Lucía"  # what was typed is kept
    with db.factory() as session:
        assert session.scalars(select(Lead)).all() == []


def test_a_sign_up_on_the_spanish_form_is_written_to_in_spanish_with_its_consent_wording(
    client: TestClient, db: Database, campaign: int
) -> None:
    response = client.post(DOWNLOAD, data={**GOOD, "language": "es"})
    assert response.status_code == 303
    assert response.headers["location"].endswith("&lang=es")
    with db.factory() as session:
        lead = session.scalars(select(Lead)).one()
        assert lead.language == "es"
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.channel)).all()
        # The ledger keeps the Spanish sentences the person ticked, under their own version.
        assert [(e.channel, e.wording_version) for e in events] == [
            ("email", "email-2026-12-es"),
            ("sms", "sms-2026-12-es"),
        ]
        assert events[1].wording is not None and "PARAR" in events[1].wording
    thanks = client.get(response.headers["location"]).text
    assert '<html lang="es">' in thanks
    assert "¡Gracias!" in thanks and "Reservar una evaluación gratuita" in thanks
    assert "Cuándo ver a un médico de inmediato" in thanks  # the article in Spanish


def test_a_spanish_speaking_leads_booking_page_is_in_spanish_with_spanish_times(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, first_name="Lucía", language="es")
    # Their browser asks for English: the page follows the lead's own choice.
    page = client.get(path_of(booking_url(settings, lead.lead_public_id))).text
    assert '<html lang="es">' in page
    main = text_by_id(page, "main")
    assert main.startswith("Reserve su evaluación gratuita Hola Lucía,")
    slots = text_by_id(page, "slots")
    assert slots.startswith("Elija un horario martes 3 de noviembre 9:00 a.m. CST 9:30 a.m. CST")
    assert "Ver horarios posteriores" in slots


def test_a_spanish_speaking_lead_books_and_sees_the_confirmation_in_spanish(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, first_name="Lucía", language="es")
    url = path_of(booking_url(settings, lead.lead_public_id))
    tuesday_nine = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    booked = client.post(url, data={"slot": tuesday_nine.isoformat()}).text
    assert "Su evaluación gratuita está reservada" in booked
    assert text_by_id(booked, "when") == "martes 3 de noviembre, 9:00 a.m. CST"
    cancel = client.get(f"{url}/cancel").text
    assert "¿Cancelar su evaluación gratuita?" in cancel
    cancelled = client.post(f"{url}/cancel").text
    assert "Su cita del martes 3 de noviembre, 9:00 a.m. CST quedó cancelada" in cancelled


def test_a_spanish_speaking_leads_unsubscribe_page_is_in_spanish(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings, language="es")
    url = path_of(unsubscribe_url(settings, lead.lead_public_id, "sms"))
    page = client.get(url).text
    assert '<html lang="es">' in page
    assert f"¿Dejar de recibir mensajes de texto de {settings.clinic_name}?" in page
    done = client.post(url).text
    assert "Ya se dio de baja" in done


def test_a_broken_link_is_explained_in_the_browsers_language(client: TestClient) -> None:
    response = client.get("/book/not-a-real-token", headers=SPANISH_BROWSER)
    assert response.status_code == 400
    assert "Este enlace no es válido. Use el mensaje más reciente" in response.text


def test_an_unknown_short_link_is_explained_in_the_browsers_language(client: TestClient) -> None:
    response = client.get("/r/zzzzzzzzzz", headers=SPANISH_BROWSER)
    assert response.status_code == 404
    assert '<html lang="es">' in response.text
    assert "No encontramos el enlace" in response.text


def test_the_staff_console_stays_in_english_for_a_spanish_speaking_browser(
    client: TestClient,
) -> None:
    page = client.get("/admin/login", headers=SPANISH_BROWSER).text
    assert '<html lang="en">' in page


@pytest.fixture
def double_opt_in(db: Database, clock: ManualClock, seeded_definition: CampaignDefinition) -> int:
    spec = seeded_definition.spec.model_copy(update={"double_opt_in": True})
    with db.factory.begin() as session:
        return sync_campaign(
            session, replace(seeded_definition, spec=spec), clock.now()
        ).campaign_id


def test_a_spanish_sign_up_is_asked_to_confirm_in_spanish_and_confirms_on_a_spanish_page(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    form = {"first_name": "Lucía", "email": "lucia@example.com", "consent_email": "yes"}
    thanks = client.post(DOWNLOAD, data={**form, "language": "es"}, follow_redirects=True)
    assert "Falta un paso" in thanks.text
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=30))
    [email] = [m for m in harness.email.sent if isinstance(m, OutboundEmail)]
    assert email.subject == f"Lucía, confirme su email para {settings.clinic_name}"
    assert "Isquiotibiales tensos y dolor detrás de la rodilla" in email.text
    found = re.search(r"https://care\.example\.test(/confirm/[\w.-]+)", email.text)
    assert found is not None
    page = client.get(found.group(1)).text
    assert '<html lang="es">' in page and "Sí, envíenme la guía" in page
    confirmed = client.post(found.group(1))
    assert confirmed.status_code == 303 and confirmed.headers["location"].endswith("&lang=es")
    with db.factory() as session:
        versions = session.scalars(select(ConsentEvent.wording_version)).all()
    assert versions == ["email-2026-12-es"]
