"""Signing a test client in to the console as a given role, and posting its forms."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from tests.staff.accounts import PASSWORD, staff_user
from tests.support import Database
from tests.web.page_parsing import form_fields

EMAILS = {
    "admin": "ada@riverside-pt.example",
    "marketing": "mara@riverside-pt.example",
    "frontdesk": "desk@riverside-pt.example",
}


def sign_in_as(client: TestClient, db: Database, clock: ManualClock, role: str) -> str:
    """Create an account with `role`, sign the client in, and return the CSRF token."""
    email = EMAILS[role]
    staff_user(db, clock, email=email, role=role)
    token = form_fields(client.get("/admin/login").text)["csrf_token"]
    assert isinstance(token, str) and token
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    response = client.post("/admin/login", data=data)
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    """The signed-in session's CSRF token, as /admin/api/me hands it to scripts."""
    token = client.get("/admin/api/me").json()["csrf_token"]
    assert isinstance(token, str) and token
    return token


def post_form(
    client: TestClient, path: str, token: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """POST a console form with the session's CSRF token, as the page's form would."""
    return client.post(path, data={**(data or {}), "csrf_token": token})
