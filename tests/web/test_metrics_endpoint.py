"""GET /metrics: Prometheus's format for operators holding the token, nothing for anyone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.models import Message, MessageStatus
from nurture.telemetry.counters import ProviderCall, record_calls
from tests.factories import capture
from tests.support import Database

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def scraping(app: FastAPI, settings: Settings) -> FastAPI:
    app.state.settings = settings.model_copy(update={"metrics_token": TOKEN})
    return app


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"bearer  {TOKEN}x"]
)
def test_metrics_are_hidden_without_the_right_token(
    scraping: FastAPI, client: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.get("/metrics", headers=headers).status_code == 404


def test_metrics_do_not_exist_when_no_token_is_configured(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404


def test_metrics_count_messages_by_status_and_channel_and_the_dispatch_lag(
    scraping: FastAPI,
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
) -> None:
    lead_id = capture(db.factory, clock, settings, email="a@example.com").lead_id
    capture(db.factory, clock, settings, email="b@example.com")
    # Nothing dispatched yet: the two welcome emails are due now and waiting.
    clock.advance(timedelta(seconds=90))
    values = samples(client)
    assert values[("nurture_dispatch_lag_seconds", ())] == pytest.approx(90)
    with db.factory.begin() as session:
        session.add_all(
            Message(
                lead_id=lead_id,
                step_key=f"s{i}",
                channel="email",
                status=status,
                due_at=clock.now(),
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            for i, status in enumerate([MessageStatus.SENT, MessageStatus.SENT, "failed"])
        )
    values = samples(client)
    assert values[("nurture_messages", (("channel", "email"), ("status", "sent")))] == 2
    assert values[("nurture_messages", (("channel", "email"), ("status", "failed")))] == 1


def test_metrics_show_provider_outcomes_latency_and_webhook_refusals(
    scraping: FastAPI, client: TestClient
) -> None:
    record_calls(
        scraping.state.counters,
        [
            ProviderCall("sendgrid", "email", "sent", 0.04),
            ProviderCall("sendgrid", "email", "sent", 0.3),
            ProviderCall("twilio", "sms", "retryable", 0.02),
        ],
    )
    assert client.post("/webhooks/twilio/sms", data={"Body": "hi"}).status_code == 403
    values = samples(client)
    sent = (
        "nurture_provider_requests_total",
        (("channel", "email"), ("outcome", "sent"), ("provider", "sendgrid")),
    )
    assert values[sent] == 2
    bucket = (
        "nurture_provider_request_seconds_bucket",
        (("channel", "email"), ("le", "0.05"), ("provider", "sendgrid")),
    )
    assert values[bucket] == 1
    count = (
        "nurture_provider_request_seconds_count",
        (("channel", "email"), ("provider", "sendgrid")),
    )
    assert values[count] == 2
    refused = (
        "nurture_refusals_total",
        (("reason", "signature"), ("route", "twilio-sms")),
    )
    assert values[refused] == 1
