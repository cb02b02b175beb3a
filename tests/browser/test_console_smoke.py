"""A member of staff signs in through the real form in Chromium and reaches the console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from nurture.staff.sections import SECTIONS
from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD, ConsoleSite

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_lands_on_the_dashboard_with_every_section(page: Page) -> None:
    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin$"))  # sign in first
    login(page, ACCOUNTS["admin"], PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.locator("#signed-in-as")).to_contain_text("role admin")
    expect(page.locator("#menu a")).to_have_text([section.title for section in SECTIONS])
    screenshot(page, "dashboard")


def test_a_lead_signed_up_during_the_run_is_on_the_leads_page(
    page: Page, console_site: ConsoleSite
) -> None:
    public_id = console_site.sign_up("Wren", "wren@example.com", "+12175550166")
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/leads/{public_id}")
    expect(page.locator("h1")).to_contain_text("Wren")
