"""`nurture webhooks add|list|remove|log`, against the test's own SQLite database."""

from __future__ import annotations

import re

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import get_sessionmaker
from nurture.webhooks_out.endpoints import list_endpoints
from nurture.webhooks_out.events import emit
from nurture.webhooks_out.models import EventType
from nurture.webhooks_out.sender import send_due
from nurture.webhooks_out.signing import SIGNATURE_HEADER, verify
from tests.cli.conftest import Invoke, failed_cleanly, succeeded
from tests.factories import capture
from tests.webhooks_out.outbox import POLICY
from tests.webhooks_out.receiver import receiver


def test_add_prints_the_secret_once_and_list_shows_the_endpoint(
    nurture: Invoke, migrated: None
) -> None:
    output = succeeded(
        nurture("webhooks", "add", "https://crm.example.test/in", "-e", "lead.booked")
    )
    secret = re.search(r"whsec_\S+", output)
    assert secret is not None
    assert "Webhook endpoint 1 added for: lead.booked." in output
    listing = succeeded(nurture("webhooks", "list"))
    assert "https://crm.example.test/in" in listing and "lead.booked" in listing
    assert "enabled" in listing
    assert secret.group(0) not in listing


def test_a_plain_http_url_is_refused_naming_the_field(nurture: Invoke, migrated: None) -> None:
    output = failed_cleanly(nurture("webhooks", "add", "http://crm.example.test/in"))
    assert "url: the URL must start with https://" in output
    assert "No webhook endpoints yet" in succeeded(nurture("webhooks", "list"))


def test_an_unknown_event_is_refused_naming_the_field(nurture: Invoke, migrated: None) -> None:
    output = failed_cleanly(nurture("webhooks", "add", "https://crm.example.test/in", "-e", "x"))
    assert "events: unknown event 'x'" in output


def test_log_shows_what_was_posted_and_remove_takes_the_endpoint_away(
    nurture: Invoke, synced: None, settings: Settings, clock: ManualClock
) -> None:
    with receiver() as crm:
        output = succeeded(nurture("webhooks", "add", crm.url))  # every event
        secret = re.search(r"whsec_\S+", output)
        assert secret is not None
        factory = get_sessionmaker()
        lead = capture(factory, clock, settings)
        with factory.begin() as session:
            emit(session, EventType.BOOKED, lead.lead_id, clock.now())
        for _ in ("lead.captured", "then lead.booked, in its turn"):
            assert send_due(factory, clock, POLICY, app_secret=settings.secret_key).delivered == 1
    assert [p["type"] for p in crm.payloads] == ["lead.captured", "lead.booked"]
    post = crm.received[-1]
    now = int(clock.now().timestamp())
    assert verify(secret.group(0), post.headers[SIGNATURE_HEADER], post.body, now)

    log = succeeded(nurture("webhooks", "log"))
    cells = [cell.strip() for cell in log.splitlines()[3].split("│")]
    assert cells[3:8] == ["lead.booked", lead.lead_public_id, "delivered", "1", "200"]
    assert "dana@example.com" not in log  # the log names the lead by id only

    succeeded(nurture("webhooks", "remove", "1"))
    with factory() as session:
        assert list_endpoints(session) == []
    assert "No webhook deliveries yet" in succeeded(nurture("webhooks", "log"))
    assert "there is no webhook endpoint 1" in failed_cleanly(nurture("webhooks", "remove", "1"))
