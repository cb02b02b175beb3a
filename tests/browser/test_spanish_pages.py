"""What a Spanish-speaking prospect sees in Chromium: a browser set to Spanish gets the
form in Spanish, and the booking page it leads to speaks Spanish, times included."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot
from tests.browser.site import ConsoleSite

pytestmark = pytest.mark.browser

ARTICLE = "tight-hamstrings-sciatic-nerve"


def test_a_spanish_speaking_prospect_signs_up_and_sees_the_booking_page_in_spanish(
    page: Page, console_site: ConsoleSite
) -> None:
    # The browser asks for Spanish (Accept-Language: es-MX) and lives on the clinic's clock.
    page.context.close()
    context = page.context.browser.new_context(  # type: ignore[union-attr]
        base_url=console_site.url(""), locale="es-MX", timezone_id="America/Chicago"
    )
    visitor = context.new_page()
    visitor.goto(f"/articles/{ARTICLE}")
    expect(visitor.locator("html")).to_have_attribute("lang", "es")
    expect(visitor.locator("h1")).to_contain_text("¿será el nervio ciático?")
    visitor.fill("#first_name", "Lucía")
    visitor.fill("#email", "lucia.browser@example.com")
    visitor.check("#consent_email")
    expect(visitor.get_by_role("link", name="English")).to_be_visible()  # the way back
    screenshot(visitor, "signup-form-es")
    visitor.get_by_role("button", name="Envíenme la guía").click()

    expect(visitor.locator(".notice")).to_contain_text("¡Gracias!")
    visitor.get_by_role("link", name="Reservar una evaluación gratuita").click()

    expect(visitor.locator("html")).to_have_attribute("lang", "es")
    expect(visitor.locator("h1")).to_have_text("Reserve su evaluación gratuita")
    expect(visitor.locator("#clinic-time")).to_contain_text("Los horarios son los de la clínica")
    # Days and times in Spanish words: "martes 3 de noviembre", "9:00 a.m. CST".
    day = r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo) \d+ de [a-z]+"
    expect(visitor.locator("#slots h3").first).to_have_text(re.compile(rf"^{day}$"))
    first = visitor.locator("#slots button").first
    expect(first).to_have_text(re.compile(r"^\d+:\d\d [ap]\.m\. C[SD]T$"))
    expect(visitor.get_by_role("link", name="Ver horarios posteriores")).to_be_visible()
    screenshot(visitor, "booking-page-es")
    context.close()
