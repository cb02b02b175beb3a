"""Marketing imports a CSV with one bad row in Chromium: the preview names the row, the
import skips it, imports the rest, and the new leads are on the leads page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD

pytestmark = pytest.mark.browser

# Row 1 is the header, so the bad email is on row 3 of the file.
SPRING_FAIR = (
    "First name,Email,Mobile,Email consent,SMS consent\n"
    "Imogen,imogen.fair@example.com,(217) 555-0111,yes,yes\n"
    "Bartholomew,bartholomew-at-example.com,,yes,no\n"
    "Ottilie,ottilie.fair@example.com,,yes,no\n"
    "Fenwick,fenwick.fair@example.com,,yes,no\n"
)


def test_a_csv_with_one_bad_email_imports_the_good_rows_and_names_the_bad_one(
    page: Page, tmp_path: Path
) -> None:
    csv_file = tmp_path / "spring-fair.csv"
    csv_file.write_text(SPRING_FAIR, encoding="utf-8")
    login(page, ACCOUNTS["marketing"], PASSWORD)

    page.goto("/admin/leads/import")
    page.set_input_files("#file", str(csv_file))
    page.select_option("#campaign", "hamstring-sciatica")
    page.locator("#upload-form").get_by_role("button", name="Preview the import").click()

    expect(page.locator("h1")).to_contain_text("spring-fair.csv")
    expect(page.locator("#mapping thead")).to_contain_text("First name")
    expect(page.locator("#mapping tbody")).to_contain_text("imogen.fair@example.com")
    expect(page.locator("#dry-run")).to_contain_text("3 ready to import, 1 with errors")
    bad_row = page.locator("#preview-errors tbody tr")
    expect(bad_row).to_have_count(1)
    expect(bad_row.locator("td")).to_have_text(["3", "Email", re.compile("@")])
    expect(page.locator("#start-import")).to_have_text(re.compile(r"Import 3 rows"))
    screenshot(page, "import-preview")

    page.click("#start-import")
    expect(page).to_have_url(re.compile(r"/admin/leads/import/[\w-]+$"))
    # The page polls the job and reloads itself once the import is done (a slow CI machine
    # may take longer than expect's default five seconds to get there).
    expect(page.locator("#count-imported")).to_have_text("3", timeout=15_000)
    expect(page.locator("#count-skipped")).to_have_text("1")
    expect(page.locator("#import-progress-text")).to_have_text("4 of 4 rows")
    skipped = page.locator("#import-errors tbody tr")
    expect(skipped).to_have_count(1)
    expect(skipped.locator("td")).to_have_text(["3", "Email", re.compile("@")])
    screenshot(page, "import-result")

    page.goto("/admin/leads")
    newest = page.locator("#leads tbody")
    for name in ("Imogen", "Ottilie", "Fenwick"):
        expect(newest.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(newest).not_to_contain_text("Bartholomew")
    expect(newest.locator("tr", has_text="Imogen")).to_contain_text("hamstring-sciatica")
    screenshot(page, "leads")
