"""What a browser test does again and again: sign in, and keep a picture of the page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support import REPO

# Gitignored (var/); the README points reviewers here after `make test`.
SCREENSHOTS = REPO / "var" / "screenshots"


def login(page: Page, email: str, password: str) -> None:
    """Sign in through the real form and wait until the console has loaded."""
    page.goto("/admin/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#menu")).to_be_visible()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as var/screenshots/<name>.png; returns the file."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # A full-page picture keeps the scroll position, so sticky table headings would be
    # drawn where the screen's top was (over a table's last row); from the top they
    # sit where a reader first sees them.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path
