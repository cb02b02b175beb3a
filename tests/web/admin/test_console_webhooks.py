"""The Webhooks page: admins add endpoints (the secret is shown once), read the delivery
log and retry a given-up delivery; a bad form names the field and keeps what was typed."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.staff.models import AuditEntry
from nurture.webhooks_out.models import DeliveryStatus, WebhookEndpoint
from nurture.webhooks_out.sealing import unseal
from tests.support import Database, every_row
from tests.web.admin.console import post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id
from tests.webhooks_out.outbox import (
    app_secret,
    deliveries,
    download,
    endpoint,
    send,
    stop_email,
)
from tests.webhooks_out.receiver import receiver

PAGE = "/admin/webhooks"
CRM = "https://crm.example.test/hooks"


@pytest.fixture
def admin(client: TestClient, db: Database, clock: ManualClock) -> str:
    return sign_in_as(client, db, clock, "admin")


def endpoints(db: Database) -> list[WebhookEndpoint]:
    with db.factory() as session:
        return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def log_rows(html: str) -> list[list[str]]:
    """The delivery log's rows as cell texts."""
    body = html.split('id="webhook-deliveries"', 1)[1].split("<tbody>", 1)[1]
    body = body.split("</tbody>", 1)[0]
    return [
        [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


@pytest.mark.parametrize("role", ["marketing", "frontdesk"])
def test_only_admins_open_the_webhooks_page(
    client: TestClient, db: Database, clock: ManualClock, role: str
) -> None:
    token = sign_in_as(client, db, clock, role)
    assert client.get(PAGE).status_code == 403
    assert post_form(client, PAGE, token, {"url": CRM, "events": "lead.booked"}).status_code == 403
    assert endpoints(db) == []


def test_an_added_endpoint_shows_its_secret_once_and_is_audited(
    client: TestClient, db: Database, admin: str
) -> None:
    response = post_form(client, PAGE, admin, {"url": CRM, "events": "lead.booked"})
    assert response.status_code == 200
    [added] = endpoints(db)
    assert (added.url, added.events, added.enabled) == (CRM, ["lead.booked"], True)
    shown = text_by_id(response.text, "secret")
    assert shown.startswith("whsec_")
    assert unseal(added.secret, app_secret()) == shown  # stored sealed, never as shown
    assert shown not in added.secret
    assert response.headers["cache-control"] == "no-store"
    later = client.get(PAGE)
    assert shown not in later.text  # never again
    assert CRM in text_by_id(later.text, "webhook-endpoints")
    with db.factory() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.added"))
        entry = audited.one()
    assert shown not in repr(entry.detail) + entry.target


@pytest.mark.parametrize(
    ("url", "events", "field", "says"),
    [
        ("http://crm.example.test/hooks", ["lead.booked"], "Endpoint URL", "https://"),
        ("javascript:alert(1)", ["lead.booked"], "Endpoint URL", "https://"),
        ("<script>alert(1)</script>", ["lead.booked"], "Endpoint URL", "host"),
        ("https://user:pw@crm.example.test/", ["lead.booked"], "Endpoint URL", "credentials"),
        ("https://crm.example.test/" + "a" * 3000, ["lead.booked"], "Endpoint URL", "too long"),
        ("https://crm.example.test:port/", ["lead.booked"], "Endpoint URL", "not a valid URL"),
        ("", ["lead.booked"], "Endpoint URL", "enter the URL"),
        (CRM, [], "Events", "at least one"),
        (CRM, ["lead.deleted"], "Events", "unknown event 'lead.deleted'"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_field_and_keeping_what_was_typed(
    client: TestClient,
    db: Database,
    admin: str,
    url: str,
    events: list[str],
    field: str,
    says: str,
) -> None:
    before = every_row(db)
    response = client.post(PAGE, data={"url": url, "events": events, "csrf_token": admin})
    assert response.status_code == 422
    problems = text_by_id(response.text, "new-endpoint-problems")
    assert f"{field}:" in problems and says in problems
    assert form_fields(response.text)["url"] == url  # nothing typed is lost
    assert "<script>alert" not in response.text  # shown as text, never as markup
    assert every_row(db) == before


def test_the_log_shows_each_delivery_and_a_given_up_one_can_be_retried_now(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    admin: str,
) -> None:
    with receiver() as crm:
        endpoint(db, clock, crm.url)
        crm.answers["ann@example.com"] = [500, 500, 500]
        ann = download(db, clock, settings, "ann")
        download(db, clock, settings, "ben")
        stop_email(db, clock, ann)
        send(db, clock)
        for _ in range(2):  # Ann's capture: two more attempts, then given up
            clock.advance(deliveries(db)[0].next_attempt_at - clock.now())
            send(db, clock)
        first = deliveries(db)[0]
        assert first.status is DeliveryStatus.GIVEN_UP

        rows = {row[0]: row for row in log_rows(client.get(PAGE).text)}
        given_up, ben, waiting = (rows[str(d.id)] for d in deliveries(db))
        assert given_up[2:] == [
            "lead.captured",
            ann_id(db, first.lead_id),
            given_up[4],
            "given up",
            "3",
            "HTTP 500",
            "",
            "Retry now",
        ]
        assert ben[5:8] == ["delivered", "1", "200"]
        assert waiting[2] == "lead.opted_out" and waiting[5:7] == ["pending", "0"]

        response = post_form(client, f"{PAGE}/deliveries/{first.id}/retry", admin)
        assert response.status_code == 303
        assert deliveries(db)[0].status is DeliveryStatus.FAILED
        assert send(db, clock).delivered == 1  # the retry, due at once (Ann's CRM is back)
        assert send(db, clock).delivered == 1  # then her opt-out, which waited behind it
    assert deliveries(db)[0].status is DeliveryStatus.DELIVERED
    assert crm.seen("ann@example.com") == ["lead.captured"] * 4 + ["lead.opted_out"]
    # A delivered one is not retried by hand: nothing changes.
    again = post_form(client, f"{PAGE}/deliveries/{first.id}/retry", admin)
    assert again.status_code == 303
    assert deliveries(db)[0].attempts == 4


def ann_id(db: Database, lead_id: int) -> str:
    with db.factory() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead.public_id[:8]


def test_disabling_and_removing_an_endpoint_from_the_page(
    client: TestClient, db: Database, clock: ManualClock, admin: str
) -> None:
    endpoint_id, _ = endpoint(db, clock, CRM)
    assert post_form(client, f"{PAGE}/{endpoint_id}/disable", admin).status_code == 303
    assert endpoints(db)[0].enabled is False
    assert "disabled" in text_by_id(client.get(PAGE).text, f"endpoint-{endpoint_id}")
    assert post_form(client, f"{PAGE}/{endpoint_id}/enable", admin).status_code == 303
    assert endpoints(db)[0].enabled is True
    assert post_form(client, f"{PAGE}/{endpoint_id}/remove", admin).status_code == 303
    assert endpoints(db) == []
    assert "No endpoints yet" in client.get(PAGE).text
