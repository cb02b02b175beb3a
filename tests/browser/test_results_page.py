"""Marketing reads a campaign's funnel in Chromium: a labelled bar per stage whose numbers
are the leads the campaign enrolled, emailed, heard from and booked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from nurture.campaigns.models import Campaign
from nurture.sequences.models import Enrollment
from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, LEADS, PASSWORD, ConsoleSite

pytestmark = pytest.mark.browser

SLUG = "hamstring-sciatica"
STAGES = ["Enrolled", "Emailed", "Opened", "Clicked", "Replied", "Booked"]


def enrolled_in(site: ConsoleSite, slug: str) -> int:
    """How many enrollments the campaign has (other tests add leads to the shared site)."""
    with site.session() as session:
        count = session.scalar(
            select(func.count(Enrollment.id)).join(Campaign).where(Campaign.slug == slug)
        )
    return int(count or 0)


def funnel_leads(page: Page, stage: str) -> str:
    """The lead count the funnel table shows for a stage."""
    row = page.locator("#funnel-table tbody tr", has=page.get_by_role("rowheader", name=stage))
    return row.locator("td").first.inner_text()


def test_the_funnel_shows_a_labelled_bar_for_each_stage_with_the_campaigns_leads(
    page: Page, console_site: ConsoleSite
) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/results?campaign={SLUG}")
    expect(page.locator("#results-heading")).to_contain_text(
        "Tight hamstrings and the sciatic nerve"
    )

    funnel = page.locator("svg#funnel")
    expect(funnel).to_be_visible()
    expect(funnel.locator("g.group > text.label")).to_have_text(STAGES)
    expect(funnel.locator("g.bar rect")).to_have_count(len(STAGES))
    expect(page.locator("#funnel-table tbody th")).to_have_text(STAGES)

    enrolled = enrolled_in(console_site, SLUG)
    assert enrolled >= len(LEADS)
    assert funnel_leads(page, "Enrolled") == str(enrolled)
    expect(funnel.locator("g.bar.enrolled text.value")).to_have_text(f"{enrolled:,} (100.0%)")
    expect(funnel).to_have_attribute("aria-label", re.compile(f"enrolled {enrolled:,};"))
    # The seeded leads got the welcome email; one asked a question, one booked. Nothing else
    # is dispatched on this site, so these stay put whatever the other tests add.
    assert funnel_leads(page, "Emailed") == str(len(LEADS))
    assert funnel_leads(page, "Replied") == "1"
    assert funnel_leads(page, "Booked") == "1"
    expect(page.locator("#step-results tbody tr[data-step='welcome-article']")).to_contain_text(
        "email"
    )
    # "Recount now" counts again and comes back to the same campaign.
    expect(page.locator("#counted-at")).to_contain_text("recounted every 5 minutes")
    page.get_by_role("button", name="Recount now").click()
    expect(page).to_have_url(re.compile(rf"/admin/results\?campaign={SLUG}"))
    expect(page.locator(".notice")).to_contain_text("Results recounted")
    assert funnel_leads(page, "Enrolled") == str(enrolled_in(console_site, SLUG))
    screenshot(page, "results")
