"""Marketing edits a campaign's SMS step in Chromium: the live preview follows the typing
(one curly quote turns the text into Unicode), and saving makes a new version."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD

pytestmark = pytest.mark.browser

SLUG = "hamstring-sciatica"
STEP = "sms-hello"
# The ’ (a curly apostrophe, as word processors type it) is not in the GSM-7 alphabet.
CURLY_TEXT = (
    "{{ clinic.name }}: Hi {{ first_name }}, it’s your physical therapist. Reply STOP to opt out."
)


def editing_version(page: Page) -> int:
    """The version number the step editor says it is editing."""
    found = re.search(r"Editing version (\d+)", page.locator("#version").inner_text())
    assert found, page.locator("#version").inner_text()
    return int(found.group(1))


def test_a_curly_quote_turns_the_sms_preview_into_unicode_and_saving_makes_a_new_version(
    page: Page,
) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto("/admin/campaigns")
    row = page.locator(f"#campaign-{SLUG}")
    expect(row).to_contain_text("active")
    screenshot(page, "campaigns")

    row.get_by_role("link", name="Tight hamstrings and the sciatic nerve").click()
    expect(page.locator("#campaign-name")).to_have_text("Tight hamstrings and the sciatic nerve")
    expect(page.locator(f"#step-{STEP}")).to_contain_text("SMS")
    screenshot(page, "campaign")

    page.locator(f"#step-{STEP}").get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(rf"/admin/campaigns/{SLUG}/steps/{STEP}/edit$"))
    expect(page.locator("#segment-count")).to_contain_text("GSM-7")
    expect(page.locator("#unicode-warning")).to_be_hidden()
    version = editing_version(page)

    page.fill("#body", CURLY_TEXT)
    # The preview comes back from the server as you type; no button is pressed.
    expect(page.locator("#segment-count")).to_contain_text("UCS-2")
    expect(page.locator("#unicode-warning")).to_be_visible()
    expect(page.locator("#unicode-warning")).to_contain_text("whole message to Unicode")
    expect(page.locator("#preview-sms")).to_contain_text("it’s your physical therapist")
    expect(page.locator("#preview-error")).to_be_hidden()
    expect(page.locator("#impact")).to_contain_text(f"move to version {version + 1}")
    screenshot(page, "step-editor")

    page.click("#save-button")
    expect(page.locator("#notice")).to_contain_text(f"Saved {STEP} as version {version + 1}")
    expect(page.locator("#notice")).to_contain_text("body changed")
    expect(page.locator("#version")).to_contain_text(f"Editing version {version + 1}")
    expect(page.locator("#body")).to_have_value(CURLY_TEXT)  # the saved text, read back

    page.goto(f"/admin/campaigns/{SLUG}/versions")
    expect(page.locator(f"#version-{version + 1}")).to_contain_text("current")
    expect(page.locator(f"#version-{version}")).not_to_contain_text("current")
    screenshot(page, "versions")


def test_a_template_error_is_shown_beside_the_message_and_nothing_is_saved(page: Page) -> None:
    login(page, ACCOUNTS["marketing"], PASSWORD)
    page.goto(f"/admin/campaigns/{SLUG}/steps/{STEP}/edit")
    version = editing_version(page)

    page.fill("#body", "Hi {{ first_name ")
    expect(page.locator("#error-body")).to_be_visible()
    expect(page.locator("#preview-error")).to_contain_text("body")

    page.click("#save-button")
    expect(page.locator("#error-body")).to_be_visible()
    expect(page.locator("#body")).to_have_value("Hi {{ first_name ")  # what was typed stays
    expect(page.locator("#version")).to_contain_text(f"Editing version {version}")
    screenshot(page, "step-editor-error")
