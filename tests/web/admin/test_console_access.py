"""Every console route refuses anonymous visitors, the wrong roles and forms without a
CSRF token, and a refused request changes nothing.

The routes come from the app (tests/web/admin/console_routes.py), so a page added later
is held to the same rules without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.staff.models import Role
from nurture.staff.sections import SECTIONS
from nurture.web.admin.auth import CSRF_HEADER
from tests.support import Database, every_row
from tests.web.admin.console import sign_in_as
from tests.web.admin.console_lead import LeadWithHistory, lead_with_history
from tests.web.admin.console_routes import ConsoleRoute, console_routes
from tests.web.page_parsing import form_fields

# The foundation's own routes (dashboard, /admin/api/me, /admin/api/campaigns) with GET:
# finding fewer means discovery is broken and every loop below would pass vacuously.
FEWEST_ROUTES = 3
# Roles some section shuts out (admin opens everything, so it has nothing to be refused).
SHUT_OUT_SOMEWHERE = [role for role in Role if any(role not in s.roles for s in SECTIONS)]


@pytest.fixture
def routes(app: FastAPI) -> list[ConsoleRoute]:
    found = console_routes(app)
    assert len(found) >= FEWEST_ROUTES, [str(r) for r in found]
    return found


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> LeadWithHistory:
    return lead_with_history(db, clock, settings)


@pytest.fixture
def new_client(app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    """Clients of their own (one per role), closed after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(TestClient(app, follow_redirects=False))


everything = every_row


def send(
    client: TestClient, route: ConsoleRoute, url: str, token: str | None = None
) -> httpx.Response:
    """The request a page's form (or a script, for /admin/api) would make, with `token`."""
    headers = {CSRF_HEADER: token} if token is not None and route.api else {}
    if not route.unsafe:
        return client.request(route.method, url, headers=headers)
    if route.api:
        return client.request(route.method, url, json={"note": "hello"}, headers=headers)
    form = {"note": "hello"} | ({"csrf_token": token} if token is not None else {})
    return client.request(route.method, url, data=form)


def failures(checks: list[tuple[ConsoleRoute, str | None]]) -> list[str]:
    return [f"{route}: {problem}" for route, problem in checks if problem]


def test_the_console_has_a_page_for_every_section_of_the_menu(routes: list[ConsoleRoute]) -> None:
    pages = {r.section for r in routes if r.method == "GET" and not r.api}
    missing = [s.key for s in SECTIONS if s.key not in pages]
    assert not missing, f"no GET page found for the sections {missing}"


def test_anonymous_page_visits_go_to_sign_in_and_api_calls_get_401(
    client: TestClient, routes: list[ConsoleRoute], lead: LeadWithHistory
) -> None:
    def problem(route: ConsoleRoute) -> str | None:
        url = route.url(lead.path_values())
        response = send(client, route, url)
        if route.api:
            if response.status_code != 401:
                return f"got {response.status_code}, not 401"
            return None
        expected = f"/admin/login?next={quote(url, safe='')}"
        if response.status_code != 303 or response.headers.get("location") != expected:
            return f"got {response.status_code} to {response.headers.get('location')}"
        return None

    reads = [r for r in routes if not r.unsafe]
    assert reads
    problems = failures([(r, problem(r)) for r in reads])
    assert problems == []


def test_anonymous_changes_are_refused_even_with_a_sign_in_token_and_change_nothing(
    client: TestClient, db: Database, routes: list[ConsoleRoute], lead: LeadWithHistory
) -> None:
    # The sign-in form hands a visitor a genuine CSRF token before they have signed in.
    token = form_fields(client.get("/admin/login").text)["csrf_token"]
    assert isinstance(token, str)

    def problem(route: ConsoleRoute, sent: str | None) -> str | None:
        before = everything(db)
        response = send(client, route, route.url(lead.path_values()), sent)
        if everything(db) != before:
            return f"changed the database (token {sent!r})"
        location = response.headers.get("location", "")
        signed_out = response.status_code == 303 and location.startswith("/admin/login")
        if not (signed_out or response.status_code in (401, 403)):
            return f"got {response.status_code} (token {sent!r})"
        return None

    changes = [r for r in routes if r.unsafe]
    assert changes, "no console route changes anything: discovery found no forms"
    checks = [(r, problem(r, sent)) for r in changes for sent in (None, token)]
    problems = failures(checks)
    assert problems == []


@pytest.mark.parametrize("role", SHUT_OUT_SOMEWHERE)
def test_each_role_is_refused_every_route_outside_its_sections(
    new_client: Callable[[], TestClient],
    db: Database,
    clock: ManualClock,
    routes: list[ConsoleRoute],
    lead: LeadWithHistory,
    role: Role,
) -> None:
    client = new_client()
    token = sign_in_as(client, db, clock, role.value)

    def problem(route: ConsoleRoute) -> str | None:
        before = everything(db) if route.unsafe else None
        response = send(client, route, route.url(lead.path_values()), token)
        if before is not None and everything(db) != before:
            return "changed the database"
        return None if response.status_code == 403 else f"got {response.status_code}, not 403"

    outside = [r for r in routes if role not in r.roles]
    assert outside
    problems = failures([(r, problem(r)) for r in outside])
    assert problems == []


@pytest.mark.parametrize("role", list(Role))
def test_each_role_opens_the_pages_of_its_own_sections(
    new_client: Callable[[], TestClient],
    db: Database,
    clock: ManualClock,
    routes: list[ConsoleRoute],
    lead: LeadWithHistory,
    role: Role,
) -> None:
    client = new_client()
    sign_in_as(client, db, clock, role.value)

    def problem(route: ConsoleRoute) -> str | None:
        response = send(client, route, route.url(lead.path_values()))
        location = response.headers.get("location", "")
        if response.status_code in (401, 403) or location.startswith("/admin/login"):
            return f"refused with {response.status_code} {location}".strip()
        # Unknown ids in the path may 404; nothing may crash.
        return f"got {response.status_code}" if response.status_code >= 500 else None

    reads = [r for r in routes if not r.unsafe and role in r.roles]
    assert reads  # every role opens at least the dashboard
    problems = failures([(r, problem(r)) for r in reads])
    assert problems == []


def test_changes_without_the_sessions_csrf_token_are_refused_and_change_nothing(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    routes: list[ConsoleRoute],
    lead: LeadWithHistory,
) -> None:
    sign_in_as(client, db, clock, Role.ADMIN.value)  # admin: only the token is missing

    def problem(route: ConsoleRoute, sent: str | None) -> str | None:
        before = everything(db)
        response = send(client, route, route.url(lead.path_values()), sent)
        if everything(db) != before:
            return f"changed the database (token {sent!r})"
        if response.status_code != 403:
            return f"got {response.status_code}, not 403 (token {sent!r})"
        return None

    changes = [r for r in routes if r.unsafe]
    assert changes, "no console route changes anything: discovery found no forms"
    checks = [(r, problem(r, sent)) for r in changes for sent in (None, "", "forged-token")]
    problems = failures(checks)
    assert problems == []
