"""Real headless Chromium (Debian's package, never downloaded by a test tool) against the
real app under uvicorn on a seeded database.

Without /usr/bin/chromium these tests skip locally and fail in CI
(NURTURE_REQUIRE_SERVICES=1), where .ci/run installs it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.helpers import screenshot
from tests.browser.site import ConsoleSite, start_site
from tests.e2e.stack import ProcessGroup
from tests.support import need

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # None of Chromium's own calls home: the tests talk to 127.0.0.1 only.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
LOG_TAIL_CHARS = 20_000


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; its absence skips locally and fails in CI."""
    need("Chromium", CHROMIUM.is_file(), f"{CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def console_site(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """The seeded console, served for the whole session (tests add to it, never reset it)."""
    root = tmp_path_factory.mktemp("console-site")
    processes = ProcessGroup(root / "logs")
    try:
        yield start_site(root, processes)
    finally:
        processes.stop_all()


@pytest.fixture
def page(browser: Browser, console_site: ConsoleSite) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose relative URLs go to the console site."""
    context = browser.new_context(
        base_url=console_site.base_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.failed:
        return report
    used = getattr(item, "funcargs", {})
    site, page = used.get("console_site"), used.get("page")
    if isinstance(site, ConsoleSite):
        report.sections.append(("log of web", site.web.log()[-LOG_TAIL_CHARS:]))
    if isinstance(page, Page) and not page.is_closed():
        name = "failed-" + re.sub(r"[^\w.-]+", "-", item.name)
        report.sections.append(("screenshot", str(screenshot(page, name))))
    return report
