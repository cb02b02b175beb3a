"""The dry-run timeline in Chromium: staff pick what the lead does, and see which steps
of the campaign's branches go and which are skipped, and why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD

pytestmark = pytest.mark.browser

SLUG = "hamstring-sciatica"


def test_picking_what_the_lead_does_shows_the_path_the_branches_take(page: Page) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/campaigns/{SLUG}/timeline")
    branch = page.locator("#dry-run-sms-anatomy-short")
    # By default the lead opens nothing: the short text goes, saying why.
    expect(page.locator("#behaviour")).to_have_value("opens nothing")
    expect(branch).not_to_have_class(re.compile(r"\bskipped\b"))
    expect(branch).to_contain_text("branch taken: anatomy-link not opened within 3d")
    screenshot(page, "timeline-branch-opens-nothing")

    page.select_option("#behaviour", "opens everything")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#behaviour")).to_have_value("opens everything")
    expect(branch).to_have_class(re.compile(r"\bskipped\b"))
    expect(branch).to_contain_text("branch not taken: opened anatomy-link on day 4")
    # Opening is not tapping the invitation: the desk's call-back is skipped too.
    call_back = page.locator("#dry-run-screening-call-back")
    expect(call_back).to_have_class(re.compile(r"\bskipped\b"))
    expect(page.locator("#dry-run tr.skipped")).to_have_count(2)
    screenshot(page, "timeline-branch-opens-everything")

    # A lead who taps the screening text and does not book goes on the desk's call list.
    page.select_option("#behaviour", "clicks sms-screening-invite")
    page.get_by_role("button", name="Show").click()
    expect(call_back).not_to_have_class(re.compile(r"\bskipped\b"))
    expect(call_back).to_contain_text("Call back")
    expect(call_back).to_contain_text("branch taken: clicked sms-screening-invite")
    screenshot(page, "timeline-branch-call-back")
