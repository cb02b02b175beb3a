"""Only posts SendGrid signed, recently, are applied; anything else is refused unchanged."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.deliverability.models import ProviderEvent
from nurture.deliverability.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from nurture.messages.models import Message
from nurture.web import webhooks_sendgrid
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.deliverability.conftest import (
    ADDRESS,
    SentEmail,
    Signer,
    TestClient,
    Webhook,
    new_signer,
    open_webhook,
    sendgrid_event,
)
from tests.support import Database


def status(db: Database, message_id: int) -> str:
    with db.factory() as session:
        return session.get_one(Message, message_id).status


def recorded_events(db: Database) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(ProviderEvent)) or 0


def delivered(welcome: SentEmail, clock: ManualClock) -> list[dict[str, object]]:
    return [sendgrid_event("delivered", welcome.ref, clock.now())]


def test_signed_batch_is_accepted_and_marks_the_email_delivered(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock
) -> None:
    response = webhook.post(delivered(welcome, clock))
    assert response.status_code == 200
    assert response.json() == {
        "received": 1,
        "applied": 1,
        "duplicates": 0,
        "ignored": 0,
        "rejected": [],
    }
    assert status(db, welcome.message_id) == "delivered"


def test_forged_signature_is_refused_and_changes_nothing(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock
) -> None:
    body = json.dumps(delivered(welcome, clock)).encode()
    forged = new_signer().headers(body, clock.now())
    response = webhook.post(body, headers=forged)
    assert response.status_code == 403
    assert status(db, welcome.message_id) == "sent"
    assert recorded_events(db) == 0


def test_events_swapped_into_a_signed_post_are_refused(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock
) -> None:
    genuine = json.dumps(delivered(welcome, clock)).encode()
    headers = webhook.signer.headers(genuine, clock.now())
    tampered = json.dumps([sendgrid_event("spamreport", welcome.ref, clock.now())]).encode()
    assert webhook.post(tampered, headers=headers).status_code == 403
    assert recorded_events(db) == 0


def test_post_signed_too_long_ago_is_refused(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock
) -> None:
    body = json.dumps(delivered(welcome, clock)).encode()
    stale = webhook.signer.headers(body, clock.now() - timedelta(minutes=11))
    response = webhook.post(body, headers=stale)
    assert response.status_code == 403
    assert "too old" in response.json()["error"]
    assert status(db, welcome.message_id) == "sent"


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_post_without_signature_headers_is_refused(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock, missing: str
) -> None:
    body = json.dumps(delivered(welcome, clock)).encode()
    headers = webhook.signer.headers(body, clock.now())
    del headers[missing]
    assert webhook.post(body, headers=headers).status_code == 403
    assert status(db, welcome.message_id) == "sent"


def test_without_a_configured_key_every_post_is_refused_and_logged(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    signer: Signer,
    welcome: SentEmail,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings.sendgrid_webhook_public_key == ""
    with open_webhook(db, clock, settings, signer) as unkeyed, caplog.at_level(logging.WARNING):
        response = unkeyed.post(delivered(welcome, clock))
    assert response.status_code == 403
    assert status(db, welcome.message_id) == "sent"
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in caplog.text
    assert ADDRESS not in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"event": "delivered"}', b"\xff\xfe", b""],
    ids=["not-json", "object-not-array", "not-utf8", "empty"],
)
def test_signed_but_malformed_body_is_a_400_and_changes_nothing(
    webhook: Webhook, db: Database, welcome: SentEmail, body: bytes
) -> None:
    response = webhook.post(body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert recorded_events(db) == 0


def test_unusable_element_is_reported_and_the_rest_of_the_batch_applies(
    webhook: Webhook, db: Database, welcome: SentEmail, clock: ManualClock
) -> None:
    events: list[object] = ["oops", {"event": "delivered"}, *delivered(welcome, clock)]
    response = webhook.post(json.dumps(events).encode())
    assert response.status_code == 200
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [
        (0, "event"),
        (1, "sg_event_id"),
    ]
    assert status(db, welcome.message_id) == "delivered"


def test_logs_and_stored_events_carry_no_address(
    webhook: Webhook,
    db: Database,
    welcome: SentEmail,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = [
        sendgrid_event("bounce", welcome.ref, clock.now(), type="bounce", reason=f"550 {ADDRESS}")
    ]
    with caplog.at_level(logging.DEBUG):
        assert webhook.post(events).status_code == 200
    assert "1 applied" in caplog.text
    assert ADDRESS not in caplog.text
    with db.factory() as session:
        stored = session.scalars(select(ProviderEvent)).one()
        message = session.get_one(Message, welcome.message_id)
    assert ADDRESS not in repr(
        [getattr(stored, column.key) for column in ProviderEvent.__table__.c]
    )
    assert ADDRESS not in (message.reason or "")


def test_in_the_full_app_a_refusal_is_json_for_sendgrid_not_a_page(
    db: Database, clock: ManualClock, webhook_settings: Settings, signer: Signer, welcome: SentEmail
) -> None:
    app = create_app()
    app.include_router(webhooks_sendgrid.router)
    app.state.settings, app.state.clock = webhook_settings, clock
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    app.dependency_overrides[webhooks_sendgrid.wall_clock] = clock.now
    body = json.dumps(delivered(welcome, clock)).encode()
    with TestClient(app) as client:
        forged = client.post(
            "/webhooks/sendgrid/events",
            content=body,
            headers=new_signer().headers(body, clock.now()),
        )
        genuine = client.post(
            "/webhooks/sendgrid/events", content=body, headers=signer.headers(body, clock.now())
        )
    assert (forged.status_code, forged.headers["content-type"]) == (403, "application/json")
    assert genuine.json()["applied"] == 1
    assert status(db, welcome.message_id) == "delivered"
