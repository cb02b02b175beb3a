"""A lead whose name is HTML and template syntax is shown as text on every console page.

The pages are found the way an admin would find them: every GET route the app serves
under /admin (filled with the lead's real ids), then every console link on those pages,
so a page added later is walked without touching this file.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.staff.models import Role
from tests.support import Database
from tests.web.admin.console import csrf_of, post_form, sign_in_as
from tests.web.admin.console_lead import LeadWithHistory, lead_with_history
from tests.web.admin.console_routes import console_routes
from tests.web.page_parsing import form_fields

# Every console page for a hostile name; left out of `make quick`, run by `make test`.
pytestmark = pytest.mark.slow

NAME = "<script>alert(1)</script>{{ 7*7 }}"
# Autoescaped: the markup becomes text and the braces stay as typed.
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}"
# What a page would hold if it let the markup through, or evaluated the name as a template.
RAW_MARKUP = "<script>alert(1)"
EVALUATED = ("</script>49", "&lt;/script&gt;49")
# Pager, filter and week links go on for ever: a few of each page's variants will do.
QUERIES_PER_PAGE = 3


@dataclass(frozen=True, slots=True)
class Visit:
    url: str
    status: int
    content_type: str
    body: str

    @property
    def html(self) -> bool:
        return self.content_type.startswith("text/html")

    @property
    def csv(self) -> bool:
        return self.content_type.startswith("text/csv")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def console_links(html: str) -> Iterator[str]:
    """The console pages a page links to (path and query, no fragment)."""
    parser = _Links()
    parser.feed(html)
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/admin"):
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


def walk(client: TestClient, start: list[str]) -> dict[str, Visit]:
    """Every console page reachable from `start` by following links, by URL."""
    seen: dict[str, Visit] = {}
    variants: Counter[str] = Counter()
    queue = deque(start)
    while queue:
        url = queue.popleft()
        path = url.split("?", 1)[0]
        if url in seen or path in ("/admin/login", "/admin/logout"):
            continue
        if variants[path] >= QUERIES_PER_PAGE:
            continue
        variants[path] += 1
        response = client.get(url)
        kind = response.headers.get("content-type", "")
        visit = Visit(url, response.status_code, kind, response.text)
        seen[url] = visit
        if visit.html and visit.status == 200:
            queue.extend(console_links(visit.body))
    return seen


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> LeadWithHistory:
    return lead_with_history(db, clock, settings, first_name=NAME)


@pytest.fixture
def admin(client: TestClient, db: Database, clock: ManualClock) -> TestClient:
    sign_in_as(client, db, clock, Role.ADMIN.value)
    return client


@pytest.fixture
def pages(app: FastAPI, admin: TestClient, lead: LeadWithHistory) -> dict[str, Visit]:
    values = lead.path_values()
    start = [
        route.url(values)
        for route in console_routes(app)
        if route.method == "GET" and not route.api and all(p in values for p in route.params)
    ]
    return walk(admin, start)


def test_no_console_page_runs_the_name_as_markup_or_as_a_template(
    pages: dict[str, Visit],
) -> None:
    crashed = [url for url, visit in pages.items() if visit.status >= 500]
    assert not crashed
    leaking = [url for url, visit in pages.items() if visit.html and RAW_MARKUP in visit.body]
    assert not leaking
    evaluated = [
        url for url, visit in pages.items() if any(sign in visit.body for sign in EVALUATED)
    ]
    assert not evaluated


def test_pages_that_name_the_lead_show_the_name_as_typed(
    pages: dict[str, Visit], lead: LeadWithHistory
) -> None:
    naming = [
        "/admin/leads",
        f"/admin/leads/{lead.public_id}",
        f"/admin/inbox/{lead.inbox_item_id}",
        "/admin/inbox",
        "/admin/bookings",
    ]
    unreached = [url for url in naming if url not in pages]
    assert unreached == [], "not reached from the console's routes and links"
    not_shown = [
        url for url in naming if pages[url].status != 200 or ESCAPED not in pages[url].body
    ]
    assert not_shown == []


def test_csv_exports_carry_the_name_exactly_as_typed(
    pages: dict[str, Visit], lead: LeadWithHistory
) -> None:
    exports = [visit for visit in pages.values() if visit.csv and visit.status == 200]
    assert exports, "no CSV export was reached from the console's routes and links"
    naming = [visit for visit in exports if lead.public_id in visit.body]
    assert naming, [visit.url for visit in exports]
    # CSV is not HTML: escaping it would corrupt the name in a spreadsheet.
    assert all(NAME in visit.body and ESCAPED not in visit.body for visit in naming)


def test_searching_leads_for_the_name_finds_the_lead_and_shows_the_search_as_text(
    admin: TestClient, lead: LeadWithHistory
) -> None:
    assert "q" in form_fields(admin.get("/admin/leads").text)  # the search box
    # The search travels in a POST body, never the URL (it is personal data).
    found = post_form(admin, "/admin/leads", csrf_of(admin), {"q": NAME})
    assert found.status_code == 200
    assert RAW_MARKUP not in found.text and not any(sign in found.text for sign in EVALUATED)
    assert f'value="{ESCAPED}"' in found.text  # typed back into the search box as text
    assert f"/admin/leads/{lead.public_id}" in found.text
