"""A hard-bounced address stays suppressed even when its owner downloads the article again.

A new download is new consent evidence and is kept, but consent cannot make a dead
mailbox deliverable: the gate still skips every email to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import suppression_reason
from nurture.consent.models import ConsentEvent
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.deliverability.conftest import ADDRESS, Webhook, sendgrid_event
from tests.factories import ARTICLE
from tests.harness import Harness
from tests.support import Database

DOWNLOAD = f"/articles/{ARTICLE}/download"
FORM = {"first_name": "Dana", "email": "Dana@Example.com", "consent_email": "yes"}


@pytest.fixture
def client(db: Database, clock: ManualClock, settings: Settings) -> Iterator[TestClient]:
    app: FastAPI = create_app()
    app.state.clock = clock
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    with TestClient(app, follow_redirects=False) as client:
        yield client


def email_grants(db: Database) -> list[tuple[str, object]]:
    with db.factory() as session:
        return [
            (e.source, e.occurred_at)
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.channel == Channel.EMAIL, ConsentEvent.action == "granted")
                .order_by(ConsentEvent.id)
            )
        ]


def test_downloading_again_with_a_hard_bounced_address_records_consent_but_sends_no_email(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    webhook: Webhook,
) -> None:
    assert client.post(DOWNLOAD, data=FORM).status_code == 303
    harness = Harness(db, clock, settings)
    harness.dispatch()
    welcome = harness.messages()["welcome-article"]
    assert welcome.status == "sent"
    bounce = sendgrid_event(
        "bounce", welcome.ref, clock.now(), type="bounce", status="5.1.1", reason="550 5.1.1"
    )
    assert webhook.post([bounce]).status_code == 200
    with db.factory() as session:
        assert suppression_reason(session, Channel.EMAIL, ADDRESS) == "hard bounce"

    clock.advance(timedelta(hours=20))
    assert client.post(DOWNLOAD, data=FORM).status_code == 303
    # The second download's consent evidence is kept, with its own time.
    assert email_grants(db) == [
        (f"form:{ARTICLE}", clock.now() - timedelta(hours=20)),
        (f"form:{ARTICLE}", clock.now()),
    ]

    harness.run_for(timedelta(days=15), step=timedelta(hours=4))
    emails = {
        key: (m.status, m.reason)
        for key, m in harness.messages().items()
        if m.channel == "email" and key != "welcome-article"
    }
    assert len(emails) == 6  # every email step after the welcome came due
    assert set(emails.values()) == {("skipped", "email address suppressed: hard bounce")}
    assert [sent.message_ref for sent in harness.email.sent] == [welcome.ref]
