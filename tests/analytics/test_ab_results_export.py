"""The Results page's CSV has each A/B variant's numbers, the same as the page's tables,
one number a cell so a spreadsheet can work with them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nurture.analytics.rollup import refresh_results
from nurture.campaigns.definition import CampaignDefinition
from nurture.clock import ManualClock
from tests.analytics.ab_scenario import DEMO_SLUG, TESTED_STEP, demo_id, seed_subject_test
from tests.analytics.reading import csv_variant_block, page_table
from tests.support import Database
from tests.web.admin.console import sign_in_as

PAGE_METRICS = {
    "Opened": "Open rate",
    "Clicked": "Click rate",
    "Replies": "Reply rate",
    "Bookings": "Booking rate",
}


def test_the_csv_export_has_each_variants_numbers_as_the_results_page_shows_them(
    client: TestClient, db: Database, clock: ManualClock, seeded_definition: CampaignDefinition
) -> None:
    with db.factory.begin() as session:
        split = seed_subject_test(session, seeded_definition, 120, clock.now())
        refresh_results(session, demo_id(session), clock.now())
    sign_in_as(client, db, clock, "marketing")
    params = {"campaign": DEMO_SLUG}
    page_header, *page_rows = page_table(
        client.get("/admin/results", params=params).text, f"ab-{TESTED_STEP}-table"
    )
    export = client.get("/admin/results/export.csv", params=params)
    assert export.status_code == 200
    header, *rows = csv_variant_block(export.text)
    assert header[:5] == ["Step", "Channel", "Variant", "Weight", "Sent"]
    assert header[-3:] == ["Compared on", "vs first variant", "Promoted"]
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(c["Step"], c["Variant"]) for c in cells] == [
        (TESTED_STEP, "anatomy"),
        (TESTED_STEP, "nerve-path"),
    ]
    assert [int(c["Sent"]) for c in cells] == [split["anatomy"], split["nerve-path"]]
    for on_page, csv_row in zip(page_rows, cells, strict=True):
        shown = dict(zip(page_header, on_page, strict=True))
        assert csv_row["Sent"] == shown["Sent"]
        assert csv_row["Weight"] == shown["Weight"]
        for label, rate in PAGE_METRICS.items():
            # The page's "12 · 8.0% (4.6–13.5%)", split into its four numbers.
            low, high = csv_row[f"{rate} 95% low"], csv_row[f"{rate} 95% high"]
            assert shown[label] == f"{csv_row[label]} · {csv_row[rate]} ({low}–{high})"
        assert csv_row["vs first variant"] == on_page[-1]
        assert csv_row["Compared on"] == "clicks"
    assert float(cells[1]["Click rate"].rstrip("%")) > float(cells[0]["Click rate"].rstrip("%"))
    # The recount promoted the clear winner, as the page says.
    assert [c["Promoted"] for c in cells] == ["", "yes"]
    assert page_rows[1][0] == "nerve-path ★"
