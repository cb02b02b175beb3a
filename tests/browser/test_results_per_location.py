"""A clinic group's marketing compares its locations in Chromium: the results page's
location filter, and each location's funnel side by side."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from nurture.locations.spec import parse_locations, sync_locations
from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD, ConsoleSite
from tests.factories import ARTICLE

pytestmark = pytest.mark.browser

NORTHSIDE = {
    "slug": "northside",
    "name": "Riverside PT Northside",
    "timezone": "America/Denver",
    "sms_sender": "+13035550111",
}


def test_marketing_filters_results_by_location_and_compares_them(
    page: Page, console_site: ConsoleSite
) -> None:
    with console_site.session() as session, session.begin():
        specs = parse_locations({"locations": [NORTHSIDE]})
        sync_locations(session, specs, datetime.now(UTC))
    for n, name in enumerate(("Rosa", "Tomás")):
        body = {
            "article": ARTICLE,
            "first_name": name,
            "email": f"north{n}@example.com",
            "location": "northside",
            "consent": {"email": True, "sms": False},
        }
        answer = httpx.post(console_site.url("/api/leads"), json=body, timeout=10)
        assert answer.status_code == 201, answer.text

    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto("/admin/results?campaign=hamstring-sciatica")
    comparison = page.locator("#location-comparison")
    expect(comparison).to_be_visible()
    north_row = comparison.locator("tr[data-location='northside']")
    expect(north_row.locator("th")).to_have_text("Riverside PT Northside")
    expect(north_row.locator("td").first).to_have_text("2")  # enrolled there

    page.get_by_label("Location").select_option("northside")
    page.get_by_role("button", name="Show results").click()
    expect(page.locator("#results-location")).to_have_text("Riverside PT Northside")
    enrolled = page.locator(
        "#funnel-table tbody tr", has=page.get_by_role("rowheader", name="Enrolled")
    )
    expect(enrolled.locator("td").first).to_have_text("2")
    screenshot(page, "results-by-location")
