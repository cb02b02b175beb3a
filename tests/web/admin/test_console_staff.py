"""Staff accounts and the audit log in the console: admins only, every change audited,
and no admin can lock themselves out."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.staff.models import AuditEntry, StaffUser
from nurture.staff.service import Actor, record_audit
from tests.staff.accounts import PASSWORD, staff_user
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

ADA = EMAILS["admin"]
DESK = "desk@riverside-pt.example"
NEW_PASSWORD = "a much longer new passphrase"


@pytest.fixture
def admin(client: TestClient, db: Database, clock: ManualClock) -> str:
    return sign_in_as(client, db, clock, "admin")


def account(db: Database, email: str) -> StaffUser:
    with db.factory() as session:
        return session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def emails(db: Database) -> list[str]:
    with db.factory() as session:
        return list(session.scalars(select(StaffUser.email).order_by(StaffUser.email)))


def audit(db: Database, action: str) -> list[AuditEntry]:
    with db.factory() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cell texts of each body row of a table, the first five columns."""
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def signs_in(app: FastAPI, email: str, password: str) -> bool:
    """Whether a fresh browser can sign in with these credentials."""
    with TestClient(app, follow_redirects=False) as other:
        token = form_fields(other.get("/admin/login").text)["csrf_token"]
        data = {"email": email, "password": password, "csrf_token": str(token)}
        return other.post("/admin/login", data=data).status_code == 303


@pytest.mark.parametrize("role", ["marketing", "frontdesk"])
@pytest.mark.parametrize("path", ["/admin/staff", "/admin/staff/audit"])
def test_staff_pages_are_refused_to_marketing_and_front_desk(
    client: TestClient, db: Database, clock: ManualClock, role: str, path: str
) -> None:
    sign_in_as(client, db, clock, role)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", ["marketing", "frontdesk"])
def test_only_admins_can_create_or_change_accounts(
    client: TestClient, db: Database, clock: ManualClock, role: str
) -> None:
    token = sign_in_as(client, db, clock, role)
    mine = account(db, EMAILS[role]).id
    new = {"email": "x@riverside-pt.example", "role": "admin", "password": PASSWORD}
    assert post_form(client, "/admin/staff", token, new).status_code == 403
    assert (
        post_form(client, f"/admin/staff/{mine}/role", token, {"role": "admin"}).status_code == 403
    )
    assert account(db, EMAILS[role]).role == role
    assert emails(db) == [EMAILS[role]]


@pytest.mark.parametrize("path", ["/admin/staff", "/admin/staff/audit"])
def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")


def test_creating_an_account_without_the_form_token_is_refused(
    client: TestClient, db: Database, admin: str
) -> None:
    data = {"email": DESK, "role": "frontdesk", "password": PASSWORD}
    assert client.post("/admin/staff", data=data).status_code == 403
    assert emails(db) == [ADA]


def test_admin_adds_an_account_that_can_then_sign_in(
    client: TestClient, app: FastAPI, db: Database, clock: ManualClock, admin: str
) -> None:
    data = {"email": "Desk@Riverside-PT.example", "name": "Dee Sk", "role": "frontdesk"}
    response = post_form(client, "/admin/staff", admin, {**data, "password": PASSWORD})
    assert response.status_code == 303
    page = client.get("/admin/staff").text
    assert text_by_id(page, "notice") == f"Added {DESK} as frontdesk."
    rows = {row[0]: row for row in table_rows(page, "staff-accounts")}
    assert rows[DESK][1:3] == ["Dee Sk", "frontdesk"]
    assert rows[DESK][3] == "2026-11-02 09:00 CST" and rows[DESK][4] == "no"
    [created] = [a for a in audit(db, "user.created") if a.target == DESK]
    assert created.actor == ADA and created.detail == {"role": "frontdesk"}
    assert signs_in(app, DESK, PASSWORD)


def test_a_refused_account_names_each_field_and_keeps_what_was_typed_but_the_password(
    client: TestClient, db: Database, admin: str
) -> None:
    data = {"email": "not-an-address", "name": "Dee", "role": "janitor", "password": "short"}
    response = post_form(client, "/admin/staff", admin, data)
    assert response.status_code == 422
    problems = text_by_id(response.text, "new-account-problems")
    assert "Email address: 'not-an-address' is not an email address" in problems
    assert "Role: unknown role 'janitor'" in problems
    assert "Password: the password must have at least 12 characters" in problems
    fields = form_fields(response.text)
    assert (fields["email"], fields["name"], fields["password"]) == ("not-an-address", "Dee", "")
    assert emails(db) == [ADA]


def test_a_second_account_for_the_same_address_is_refused(
    client: TestClient, db: Database, admin: str
) -> None:
    data = {"email": ADA.upper(), "role": "marketing", "password": PASSWORD}
    response = post_form(client, "/admin/staff", admin, data)
    assert response.status_code == 422
    assert f"Email address: a staff account for {ADA} already exists" in text_by_id(
        response.text, "new-account-problems"
    )


def test_disabling_an_account_stops_its_sign_in_and_enabling_restores_it(
    client: TestClient, app: FastAPI, db: Database, clock: ManualClock, admin: str
) -> None:
    desk = staff_user(db, clock, email=DESK, role="frontdesk")
    assert post_form(client, f"/admin/staff/{desk}/disable", admin).status_code == 303
    assert text_by_id(client.get("/admin/staff").text, "notice") == f"Disabled {DESK}."
    assert account(db, DESK).disabled and not signs_in(app, DESK, PASSWORD)
    rows = {row[0]: row for row in table_rows(client.get("/admin/staff").text, "staff-accounts")}
    assert rows[DESK][4] == "yes"
    assert post_form(client, f"/admin/staff/{desk}/enable", admin).status_code == 303
    assert signs_in(app, DESK, PASSWORD)
    assert [(a.actor, a.target) for a in audit(db, "user.disabled")] == [(ADA, f"staff:{desk}")]
    assert [(a.actor, a.target) for a in audit(db, "user.enabled")] == [(ADA, f"staff:{desk}")]


def test_an_admin_cannot_disable_or_demote_themselves(
    client: TestClient, db: Database, admin: str
) -> None:
    me = account(db, ADA).id
    response = post_form(client, f"/admin/staff/{me}/disable", admin)
    assert response.status_code == 422
    assert "you cannot disable your own account" in text_by_id(response.text, "account-problem")
    response = post_form(client, f"/admin/staff/{me}/role", admin, {"role": "marketing"})
    assert response.status_code == 422
    assert "you cannot take the admin role from yourself" in text_by_id(
        response.text, "account-problem"
    )
    mine = account(db, ADA)
    assert (mine.disabled, mine.role) == (False, "admin")
    assert client.get("/admin/staff").status_code == 200  # still signed in, still admin
    assert audit(db, "user.disabled") == [] and audit(db, "user.role_changed") == []


def test_changing_a_role_takes_effect_at_once_and_is_audited(
    client: TestClient, app: FastAPI, db: Database, clock: ManualClock, admin: str
) -> None:
    desk = staff_user(db, clock, email=DESK, role="frontdesk")
    response = post_form(client, f"/admin/staff/{desk}/role", admin, {"role": "marketing"})
    assert response.status_code == 303
    assert account(db, DESK).role == "marketing"
    [entry] = audit(db, "user.role_changed")
    assert (entry.actor, entry.target) == (ADA, f"staff:{desk}")
    assert entry.detail == {"old": "frontdesk", "new": "marketing"}
    bad = post_form(client, f"/admin/staff/{desk}/role", admin, {"role": "owner"})
    assert bad.status_code == 422 and "unknown role 'owner'" in text_by_id(
        bad.text, "account-problem"
    )


def test_a_new_password_replaces_the_old_one(
    client: TestClient, app: FastAPI, db: Database, clock: ManualClock, admin: str
) -> None:
    desk = staff_user(db, clock, email=DESK, role="frontdesk")
    weak = post_form(client, f"/admin/staff/{desk}/password", admin, {"password": "short"})
    assert weak.status_code == 422
    assert "at least 12 characters" in text_by_id(weak.text, "account-problem")
    done = post_form(client, f"/admin/staff/{desk}/password", admin, {"password": NEW_PASSWORD})
    assert done.status_code == 303
    assert signs_in(app, DESK, NEW_PASSWORD) and not signs_in(app, DESK, PASSWORD)
    [entry] = audit(db, "user.password_reset")
    assert (entry.actor, entry.target, entry.detail) == (ADA, f"staff:{desk}", {})


def test_changing_an_account_that_does_not_exist_says_so(client: TestClient, admin: str) -> None:
    response = post_form(client, "/admin/staff/9999/disable", admin)
    assert response.status_code == 422
    assert text_by_id(response.text, "account-problem") == "there is no staff account 9999"


def audit_page(client: TestClient, query: str = "") -> str:
    response = client.get("/admin/staff/audit" + query)
    assert response.status_code == 200
    return response.text


def test_audit_log_lists_newest_first_and_filters_by_actor_and_action(
    client: TestClient, db: Database, clock: ManualClock, admin: str
) -> None:
    desk = staff_user(db, clock, email=DESK, role="frontdesk")
    post_form(client, f"/admin/staff/{desk}/role", admin, {"role": "marketing"})
    post_form(client, f"/admin/staff/{desk}/disable", admin)
    rows = table_rows(audit_page(client), "audit-log")
    assert [row[2] for row in rows[:3]] == ["user.disabled", "user.role_changed", "user.created"]
    assert rows[0][:4] == ["2026-11-02 09:00 CST", ADA, "user.disabled", f"staff:{desk}"]
    me = account(db, ADA).id
    mine = table_rows(audit_page(client, f"?actor={me}"), "audit-log")
    assert {row[1] for row in mine} == {ADA}
    assert {row[2] for row in mine} >= {"login", "user.role_changed", "user.disabled"}
    disabled = table_rows(audit_page(client, "?action=user.disabled"), "audit-log")
    assert [row[2] for row in disabled] == ["user.disabled"]
    nothing = audit_page(client, f"?actor={me}&action=user.created")
    assert text_by_id(nothing, "audit-log") == "Nothing in the log matches these filters."


def test_audit_log_pages_keep_the_filters(
    client: TestClient, db: Database, clock: ManualClock, admin: str
) -> None:
    with db.factory.begin() as session:
        for number in range(60):
            record_audit(session, Actor("cli:ops"), "campaign.paused", clock.now(), f"c-{number}")
    first = audit_page(client, "?action=campaign.paused")
    targets = [row[3] for row in table_rows(first, "audit-log")]
    assert len(targets) == 50 and targets[0] == "c-59"
    assert "60 in all · page 1 of 2" in first
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link is not None
    second = audit_page(client, unescape(link[1]).removeprefix("/admin/staff/audit"))
    assert [row[3] for row in table_rows(second, "audit-log")] == [
        f"c-{n}" for n in range(9, -1, -1)
    ]
