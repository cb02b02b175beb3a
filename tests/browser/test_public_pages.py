"""What a prospect sees in Chromium: the download form, the thank-you page with their own
booking link, and the booking page on the clinic's clock (theirs beside it)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import screenshot
from tests.browser.site import ConsoleSite

pytestmark = pytest.mark.browser

ARTICLE = "tight-hamstrings-sciatic-nerve"


def test_a_prospect_signs_up_and_books_from_the_thank_you_page(
    page: Page, console_site: ConsoleSite
) -> None:
    # The browser reports its own zone to the form: Asia/Tokyo, far from the clinic.
    page.context.close()
    context = page.context.browser.new_context(  # type: ignore[union-attr]
        base_url=console_site.url(""), timezone_id="Asia/Tokyo"
    )
    visitor = context.new_page()
    visitor.goto(f"/articles/{ARTICLE}")
    trap = visitor.locator("#website").bounding_box()
    assert trap is not None and trap["x"] + trap["width"] < 0  # the bot trap is off-screen
    visitor.fill("#first_name", "Keiko")
    visitor.fill("#email", "keiko@example.com")
    visitor.check("#consent_email")
    screenshot(visitor, "signup-form")
    visitor.get_by_role("button", name="Send me the guide").click()

    expect(visitor.locator(".notice")).to_contain_text("Thank you!")
    book = visitor.get_by_role("link", name="Book a free screening")
    expect(book).to_be_visible()
    screenshot(visitor, "signup-thanks")
    book.click()

    expect(visitor.locator("h1")).to_have_text("Book your free screening")
    expect(visitor.locator("#clinic-time")).to_contain_text("America/Chicago")
    first = visitor.locator("#slots button").first
    clock = r"(?:[A-Z][a-z]{2} )?\d+:\d\d [AP]M"
    expect(first).to_have_text(re.compile(rf"^\d+:\d\d [AP]M CST \({clock} JST your time\)$"))
    screenshot(visitor, "booking-page")
    context.close()


def test_the_sign_in_box_styles_its_password_field_like_the_others(
    page: Page, console_site: ConsoleSite
) -> None:
    page.goto("/admin/login")
    email = page.locator("#email").evaluate("e => getComputedStyle(e).borderTopWidth")
    password = page.locator("#password").evaluate("e => getComputedStyle(e).borderTopWidth")
    assert email == password == "2px"
    screenshot(page, "login")
