"""Hostile input on the public routes gets a clear 4xx and writes nothing: the five causes
of HTTP 500 found under attack, NULs and files where text belongs, undecodable bytes,
numbers that cannot take a text, and bodies larger than a route accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from nurture.clock import ManualClock, utcnow
from nurture.config import Settings
from nurture.deliverability.models import ProviderEvent
from nurture.leads.capture import CaptureResult
from nurture.leads.models import Lead
from nurture.links import booking_url
from nurture.web.body_limits import DEFAULT_LIMIT, limit_for
from tests.deliverability.conftest import Signer, new_signer, sendgrid_event
from tests.factories import ARTICLE, capture
from tests.support import Database, every_row
from tests.web.conftest import path_of

TOKEN = "twilio-test-auth-token"
PUBLIC = "https://care.example.test"
FAR_FUTURE = "9999-12-31T23:59:59-14:00"
GOOD = {
    "article": ARTICLE,
    "first_name": "Dana",
    "email": "dana@example.com",
    "consent": {"email": True},
}


@pytest.fixture(scope="module")
def signer() -> Signer:
    return new_signer()


@pytest.fixture
def app(app: FastAPI, settings: Settings, signer: Signer) -> FastAPI:
    app.state.settings = settings.model_copy(
        update={"twilio_auth_token": TOKEN, "sendgrid_webhook_public_key": signer.public_key_b64}
    )
    return app


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    return capture(db.factory, clock, settings, phone="+12175550199")


def signed_twilio(client: TestClient, path: str, params: dict[str, str]) -> httpx.Response:
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def inbound(**fields: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "a" * 32,
        "From": "+12175550199",
        "To": "+12175550142",
        "Body": "hello",
        **fields,
    }


def test_json_nested_a_thousand_deep_is_a_422_not_a_crash(client: TestClient, db: Database) -> None:
    before = every_row(db)
    for body in ("[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000):
        response = client.post(
            "/api/leads", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body"
    assert every_row(db) == before


def test_a_sendgrid_event_batch_nested_a_thousand_deep_is_a_400(
    client: TestClient, db: Database, signer: Signer
) -> None:
    body = ("[" * 1000 + "]" * 1000).encode()
    response = client.post(
        "/webhooks/sendgrid/events", content=body, headers=signer.headers(body, utcnow())
    )
    assert response.status_code == 400


def test_a_sendgrid_timestamp_past_the_year_9999_is_refused(
    client: TestClient, db: Database
) -> None:
    before = every_row(db)
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": "AAAA",
        "X-Twilio-Email-Event-Webhook-Timestamp": "999999999999",
    }
    response = client.post("/webhooks/sendgrid/events", content=b"[]", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "unverified event post: timestamp is not a time"}
    assert every_row(db) == before


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/twilio/status"])
def test_a_file_part_in_a_twilio_webhook_is_a_400(
    client: TestClient, db: Database, path: str
) -> None:
    before = every_row(db)
    files = {"MessageSid": (None, "SM" + "b" * 32), "Body": ("x.bin", b"\x00\x01", "image/png")}
    response = client.post(path, files=files, headers={"X-Twilio-Signature": "abc"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"field": "Body", "message": "files are not accepted here"}]
    }
    assert every_row(db) == before


@pytest.mark.parametrize("query", ["after", "slot"])
def test_a_booking_time_beyond_the_calendar_is_ignored_not_a_crash(
    client: TestClient, db: Database, settings: Settings, lead: CaptureResult, query: str
) -> None:
    page = path_of(booking_url(settings, lead.lead_public_id))
    before = every_row(db)
    for path in (page, f"{page}/reschedule"):
        response = client.get(path, params={query: FAR_FUTURE})
        assert response.status_code == 200, response.text
        posted = client.post(path, data={"slot": FAR_FUTURE})
        assert posted.status_code in (200, 409, 422), posted.text
    assert every_row(db) == before


def test_a_nul_in_a_signed_twilio_field_is_a_400_and_nothing_is_written(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    before = every_row(db)
    response = signed_twilio(client, "/webhooks/twilio/sms", inbound(Body="stop\x00now"))
    assert response.status_code == 400
    assert response.json() == {"errors": [{"field": "Body", "message": "contains a NUL character"}]}
    status = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "deliv\x00ered"}
    assert signed_twilio(client, "/webhooks/twilio/status", status).status_code == 400
    assert every_row(db) == before


def test_one_event_with_a_nul_is_refused_and_the_rest_of_the_batch_applied(
    client: TestClient, db: Database, signer: Signer, lead: CaptureResult
) -> None:
    at = utcnow()
    events = [
        sendgrid_event("delivered", "ref-one", at),
        sendgrid_event("open", "ref-two\x00", at),
        sendgrid_event("delivered", "ref-three", at, email="x\x00@example.com"),
        sendgrid_event("processed", "ref-four", at),
    ]
    body = json.dumps(events).encode()
    response = client.post(
        "/webhooks/sendgrid/events", content=body, headers=signer.headers(body, at)
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["received"] == 4
    assert [(r["index"], r["message"]) for r in report["rejected"]] == [
        (1, "contains a NUL character"),
        (2, "contains a NUL character"),
    ]
    with db.factory() as session:
        stored = set(session.scalars(select(ProviderEvent.event_id)))
    assert stored == {events[0]["sg_event_id"], events[3]["sg_event_id"]}


@pytest.mark.parametrize(
    ("phone", "consent_sms", "message"),
    [
        ("+1 900 555 0123", "yes", "is a premium-rate number, not a personal phone number"),
        ("+1 900 555 0123", "", "is a premium-rate number, not a personal phone number"),
        ("+44 20 7946 0000", "yes", "text messages need a mobile number; this one is a landline"),
        ("+1 800 555 0123", "yes", "this one is a toll-free number"),
    ],
)
def test_numbers_that_cannot_take_our_texts_are_refused_naming_the_reason(
    client: TestClient, db: Database, campaign: int, phone: str, consent_sms: str, message: str
) -> None:
    form = {"first_name": "Dana", "email": "d@example.com", "phone": phone}
    form |= {"consent_email": "yes", "consent_sms": consent_sms}
    response = client.post(f"/articles/{ARTICLE}/download", data=form)
    assert response.status_code == 422
    api = client.post(
        "/api/leads",
        json={**GOOD, "phone": phone, "consent": {"email": True, "sms": bool(consent_sms)}},
    )
    assert api.status_code == 422
    assert any(message in error["message"] for error in api.json()["errors"]), api.json()
    with db.factory() as session:
        assert session.scalar(select(Lead.id)) is None


def test_a_mobile_number_abroad_is_still_welcome(client: TestClient, campaign: int) -> None:
    body = {**GOOD, "phone": "+34 612 345 678", "consent": {"email": True, "sms": True}}
    assert client.post("/api/leads", json=body).status_code == 201


def test_undecodable_bytes_in_the_download_form_are_a_422_naming_the_field(
    client: TestClient, db: Database, campaign: int
) -> None:
    body = b"first_name=Dan%FF%FEa&email=dana%40example.com&consent_email=yes"
    response = client.post(
        f"/articles/{ARTICLE}/download",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert 'href="#first_name"' in response.text
    with db.factory() as session:
        assert session.scalar(select(Lead.id)) is None


def test_a_nul_in_the_api_is_refused_naming_the_field(client: TestClient, db: Database) -> None:
    response = client.post("/api/leads", json={**GOOD, "first_name": "Da\x00na"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "first_name" and "could not be read" in error["message"]


def test_a_body_larger_than_the_route_allows_is_refused_unread(
    client: TestClient, db: Database
) -> None:
    before = every_row(db)
    big = b"x" * (DEFAULT_LIMIT + 1)
    response = client.post("/api/leads", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    events = b"[" + b" " * limit_for("/webhooks/sendgrid/events") + b"]"
    assert client.post("/webhooks/sendgrid/events", content=events).status_code == 413
    page = client.post(f"/articles/{ARTICLE}/download", content=big)
    assert page.status_code == 413
    assert every_row(db) == before


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient, db: Database) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1000 x 8 KB, far past the 64 KB a form may send
            sent += 8192
            yield b"a" * 8192

    response = client.post(
        "/api/leads", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert json.loads(response.text)["detail"] == "the request body is larger than 64 KB"


def test_the_limits_fit_what_each_caller_really_sends() -> None:
    assert limit_for("/api/leads") == 64 * 1024
    assert limit_for("/webhooks/sendgrid/events") == 1024 * 1024  # batches of up to 768 KB
    assert limit_for("/webhooks/sendgrid/inbound") == 32 * 1024 * 1024  # emails up to 30 MB
    assert limit_for("/webhooks/twilio/sms") == 64 * 1024
