"""Marketing reads an A/B subject test in Chromium: each variant's messages with the rate
and 95% interval of each response, the comparison with the first variant, and the winner
the recount promoted, with when and why; and the funnel table still reads right once the
page has scrolled past it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from nurture.analytics.rollup import refresh_results
from nurture.campaigns.definition import CampaignDefinition
from nurture.clock import utcnow
from tests.analytics.ab_scenario import DEMO_SLUG, TESTED_STEP, demo_id, seed_subject_test
from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD, ConsoleSite

pytestmark = pytest.mark.browser
RATE_CELL = re.compile(r"^\d+ · \d+\.\d% \(\d+\.\d%–\d+\.\d%\)$")


def test_the_ab_results_show_each_variant_with_intervals_and_the_promoted_winner(
    page: Page, console_site: ConsoleSite, seeded_definition: CampaignDefinition
) -> None:
    # A campaign of its own, so the seeded campaign's numbers stay as other tests expect.
    with console_site.session() as session:
        split = seed_subject_test(session, seeded_definition, 240, utcnow())
        refresh_results(session, demo_id(session), utcnow())
        session.commit()

    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/results?campaign={DEMO_SLUG}")
    test = page.locator(f"#ab-{TESTED_STEP}")
    expect(test.get_by_role("heading", name=f"Step {TESTED_STEP}")).to_be_visible()
    rows = test.locator("tbody tr")
    expect(rows).to_have_count(2)
    for key, sent in split.items():
        row = test.locator(f"tr[data-variant='{key}']")
        expect(row.locator("td").nth(1)).to_have_text(str(sent))
        # "count · rate (low–high)" for every response an email reports.
        for metric in ("opens", "clicks", "replies", "bookings"):
            expect(row.locator(f"td[data-metric='{metric}']")).to_have_text(RATE_CELL)
    expect(test.locator("tr[data-variant='anatomy'] td[data-metric='difference']")).to_have_text(
        "baseline"
    )
    expect(
        test.locator("tr[data-variant='nerve-path'] td[data-metric='difference']")
    ).to_contain_text(re.compile(r"pts, p [<=] 0\.\d{3}"))
    promotion = page.locator(f"#ab-{TESTED_STEP}-promotion")
    expect(promotion).to_contain_text("Winner promoted: nerve-path")
    expect(promotion).to_contain_text("two-proportion z")
    expect(test.locator("tr.winner th")).to_contain_text("nerve-path")
    test.scroll_into_view_if_needed()
    screenshot(page, "ab-results")


def test_the_funnel_stage_names_stay_on_their_rows_when_the_page_scrolls_past(
    page: Page, console_site: ConsoleSite
) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto("/admin/results")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    funnel = page.locator("#funnel-table")
    box = funnel.bounding_box()
    assert box is not None and box["y"] + box["height"] < 0, "the funnel is out of view"
    rows = funnel.locator("tbody tr").all()
    assert len(rows) == 6
    # A sticky row heading would have followed the screen's top down to the table's end.
    for row in rows:
        label, count = row.locator("th").bounding_box(), row.locator("td").first.bounding_box()
        assert label is not None and count is not None
        assert abs(label["y"] - count["y"]) < 1, row.inner_text()
