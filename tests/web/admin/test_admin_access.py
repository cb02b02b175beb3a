"""Signing in to the staff console: cookies, CSRF, lockout, roles and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings, get_settings
from nurture.staff.models import AuditEntry
from nurture.staff.service import reset_password
from nurture.web.admin.auth import COOKIE
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.staff.accounts import PASSWORD, SETUP, staff_user
from tests.support import Database
from tests.web.admin.console import sign_in_as
from tests.web.admin.console_lead import lead_with_history
from tests.web.page_parsing import form_fields, text_by_id

MARA = "mara@riverside-pt.example"


def login_token(client: TestClient, path: str = "/admin/login") -> str:
    token = form_fields(client.get(path).text)["csrf_token"]
    assert isinstance(token, str) and token
    return token


def sign_in(client: TestClient, email: str = MARA, password: str = PASSWORD) -> httpx.Response:
    data = {"email": email, "password": password, "csrf_token": login_token(client)}
    return client.post("/admin/login", data=data)


def session_cookie(response: httpx.Response) -> SimpleCookie:
    headers = [v for v in response.headers.get_list("set-cookie") if v.startswith(COOKIE + "=")]
    assert len(headers) == 1, headers
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers[0])
    return cookie


def test_signing_in_sets_an_httponly_samesite_cookie_and_opens_the_dashboard(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock, name="Mara Quinn")
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    morsel = session_cookie(response)[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/admin"
    assert not morsel["secure"]  # the test site is plain http
    page = client.get("/admin")
    assert page.status_code == 200
    assert text_by_id(page.text, "signed-in-as") == (
        f"Signed in as Mara Quinn ({MARA}), role marketing."
    )
    assert text_by_id(page.text, "sections") == "Campaigns Leads Results"


def test_wrong_password_shows_the_form_again_and_does_not_sign_in(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    response = sign_in(client, password="not my password")
    assert response.status_code == 401
    assert "do not match an account" in text_by_id(response.text, "problem")
    assert form_fields(response.text)["email"] == MARA
    assert client.get("/admin").status_code == 303


def test_login_post_without_the_form_token_is_refused(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    login_token(client)  # the visitor has a session cookie, but the post lacks its token
    response = client.post("/admin/login", data={"email": MARA, "password": PASSWORD})
    assert response.status_code == 403
    forged = {"email": MARA, "password": PASSWORD, "csrf_token": "guessed"}
    assert client.post("/admin/login", data=forged).status_code == 403
    assert client.get("/admin").status_code == 303  # still signed out
    with db.factory() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["user.created"]


def test_fetch_calls_send_the_token_in_a_header(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    sign_in(client)
    token = client.get("/admin/api/me").json()["csrf_token"]
    assert client.post("/admin/logout").status_code == 403
    response = client.post("/admin/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert client.get("/admin/api/me").status_code == 401


def test_sixth_sign_in_attempt_after_five_failures_gets_too_many_attempts(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    for _ in range(5):
        assert sign_in(client, password="guessing again").status_code == 401
    locked = sign_in(client)  # even the right password, until the window passes
    assert locked.status_code == 429
    assert "Wait 15 minutes" in text_by_id(locked.text, "problem")
    assert client.get("/admin").status_code == 303


def test_signing_out_clears_the_cookie_and_the_dashboard_asks_to_sign_in_again(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    sign_in(client)
    dashboard = client.get("/admin")
    token = form_fields(dashboard.text)["csrf_token"]
    response = client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    morsel = session_cookie(response)[COOKIE]
    assert morsel.value in ("", '""') and morsel["max-age"] == "0"
    assert COOKIE not in client.cookies
    assert client.get("/admin").status_code == 303


def test_anonymous_visit_to_the_dashboard_redirects_to_sign_in_and_back(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    response = client.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin"
    staff_user(db, clock)
    data = {"email": MARA, "password": PASSWORD, "csrf_token": login_token(client)}
    data["next"] = "/admin/api/me"
    assert client.post("/admin/login", data=data).headers["location"] == "/admin/api/me"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/articles"])
def test_sign_in_never_sends_staff_outside_the_console(
    client: TestClient, db: Database, clock: ManualClock, target: str
) -> None:
    staff_user(db, clock)
    data = {"email": MARA, "password": PASSWORD, "csrf_token": login_token(client), "next": target}
    assert client.post("/admin/login", data=data).headers["location"] == "/admin"


def test_anonymous_api_call_gets_401_json(client: TestClient) -> None:
    response = client.get("/admin/api/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Sign in first."}


def test_front_desk_cannot_open_a_marketing_section(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock, email="desk@riverside-pt.example", role="frontdesk")
    sign_in(client, email="desk@riverside-pt.example")
    assert client.get("/admin/api/campaigns").status_code == 403
    assert text_by_id(client.get("/admin").text, "sections") == "Inbox Bookings"


def test_marketing_and_admin_can_open_the_campaigns_section(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    sign_in(client)
    assert client.get("/admin/api/campaigns").json() == []


def test_sign_in_and_sign_out_are_in_the_audit_log(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    sign_in(client)
    token = form_fields(client.get("/admin").text)["csrf_token"]
    client.post("/admin/logout", data={"csrf_token": token})
    with db.factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.target, e.at) for e in entries[1:]] == [
        (MARA, "login", MARA, clock.now()),
        (MARA, "logout", MARA, clock.now()),
    ]
    assert entries[1].ip == "testclient"


def test_html_in_a_staff_name_is_shown_as_text(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock, name='<script>alert("x")</script>')
    sign_in(client)
    page = client.get("/admin").text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


@pytest.fixture
def production_app(
    monkeypatch: pytest.MonkeyPatch, db: Database, clock: ManualClock
) -> Iterator[FastAPI]:
    for name, value in {
        "NURTURE_ENV": "production",
        "NURTURE_SECRET_KEY": "a-real-secret-for-this-test-only",
        "CLINIC_NAME": "Riverside Physical Therapy",
        "CLINIC_ADDRESS": "120 Main Street, Springfield, IL 62701",
        "EMAIL_FROM": "care@riverside-pt.example",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    app = create_app()
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    app.state.clock = clock
    yield app
    get_settings.cache_clear()


def test_session_cookie_is_secure_in_production(
    production_app: FastAPI, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    with TestClient(
        production_app, base_url="https://testserver", follow_redirects=False
    ) as client:
        response = sign_in(client)
        assert response.status_code == 303
        morsel = session_cookie(response)[COOKIE]
        assert morsel["secure"] is True and morsel["httponly"] is True
        assert client.get("/admin").status_code == 200


def test_a_copied_session_cookie_stops_working_once_its_owner_signs_out(
    client: TestClient, app: FastAPI, db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    sign_in(client)
    copied = client.cookies[COOKIE]
    token = form_fields(client.get("/admin").text)["csrf_token"]
    client.post("/admin/logout", data={"csrf_token": token})
    with TestClient(app, follow_redirects=False, cookies={COOKIE: copied}) as thief:
        assert thief.get("/admin").status_code == 303
        assert thief.get("/admin/api/me").status_code == 401


def test_a_new_password_signs_out_sessions_opened_with_the_old_one(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    user_id = staff_user(db, clock)
    sign_in(client)
    assert client.get("/admin").status_code == 200
    with db.factory.begin() as session:
        reset_password(session, user_id, "a brand new long passphrase", clock.now(), SETUP)
    assert client.get("/admin").status_code == 303
    assert sign_in(client, password="a brand new long passphrase").status_code == 303
    assert client.get("/admin").status_code == 200


def test_the_front_desk_dashboard_says_what_is_waiting(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead_with_history(db, clock, settings)  # a question by text, a screening on Tuesday
    clock.advance(timedelta(days=1))  # Tuesday, the screening's day
    staff_user(db, clock, email="desk@riverside-pt.example", role="frontdesk")
    sign_in(client, email="desk@riverside-pt.example")
    page = client.get("/admin").text
    assert text_by_id(page, "glance-inbox") == "1 reply waiting"
    assert text_by_id(page, "glance-bookings") == "1 screening today"
    assert "glance-campaigns" not in page  # not a front-desk section


@pytest.mark.parametrize(("role", "links"), [("frontdesk", False), ("admin", True)])
def test_inbox_and_bookings_link_to_lead_pages_only_for_roles_that_open_them(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    role: str,
    links: bool,
) -> None:
    lead = lead_with_history(db, clock, settings)
    sign_in_as(client, db, clock, role)
    lead_page = f'href="/admin/leads/{lead.public_id}"'
    for path in ("/admin/inbox", f"/admin/inbox/{lead.inbox_item_id}", "/admin/bookings"):
        page = client.get(path)
        assert page.status_code == 200
        assert (lead_page in page.text) is links, path
