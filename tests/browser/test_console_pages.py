"""The console's other main pages open in Chromium with what a clinic would expect on
them: a lead's history, the dry-run timeline, clinic settings, staff and the audit log."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, LEADS, PASSWORD, ConsoleSite

pytestmark = pytest.mark.browser

SLUG = "hamstring-sciatica"


def test_a_lead_page_shows_contact_consent_and_the_welcome_email_that_went_out(
    page: Page, console_site: ConsoleSite
) -> None:
    first_name, email, _ = LEADS[0]  # a seeded lead no other test changes
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto("/admin/leads")
    page.locator("#leads").get_by_role("link", name=first_name, exact=True).click()

    expect(page).to_have_url(console_site.url(f"/admin/leads/{console_site.leads[first_name]}"))
    expect(page.locator("#lead-name")).to_have_text(first_name)
    expect(page.locator("#contact")).to_contain_text(email)
    expect(page.locator("#email-consent")).to_have_text("yes")
    expect(page.locator("#consent-ledger tbody")).to_contain_text("email")
    welcome = page.locator(f"#message-{SLUG}-welcome-article")
    expect(welcome).to_contain_text("Email")
    expect(welcome).to_contain_text("here is your guide to tight hamstrings")
    screenshot(page, "lead")


def test_the_dry_run_timeline_lists_every_step_with_a_send_time(page: Page) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/campaigns/{SLUG}")
    page.locator("#campaign-links").get_by_role("link", name="Dry-run timeline").click()
    expect(page.locator("#dry-run tbody tr")).to_have_count(12)
    expect(page.locator("#dry-run-welcome-article")).to_be_visible()
    expect(page.locator("#dry-run-screening-invitation")).to_be_visible()
    screenshot(page, "timeline")


def test_an_admin_sees_the_clinic_settings_filled_in(page: Page) -> None:
    login(page, ACCOUNTS["admin"], PASSWORD)
    page.goto("/admin/settings")
    expect(page.locator("h1")).to_have_text("Clinic settings")
    expect(page.locator("#clinic_name")).not_to_have_value("")
    expect(page.locator("#clinic_timezone")).not_to_have_value("")
    expect(page.locator("#settings-problems")).to_be_empty()
    screenshot(page, "settings")


def test_an_admin_sees_every_staff_account_and_the_audit_log(page: Page) -> None:
    login(page, ACCOUNTS["admin"], PASSWORD)
    page.goto("/admin/staff")
    accounts = page.locator("#staff-accounts tbody")
    for role, email in ACCOUNTS.items():
        expect(accounts.locator("tr", has_text=email)).to_contain_text(role)
    expect(accounts.locator("tr", has_text=ACCOUNTS["admin"])).to_contain_text("(you)")
    screenshot(page, "staff")

    page.click("#audit-link")
    expect(page.locator("table#audit-log")).to_contain_text("cli:seed")
    screenshot(page, "audit")
