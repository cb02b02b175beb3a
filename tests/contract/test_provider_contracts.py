"""The channels' real requests satisfy the providers' official OpenAPI specs.

Prism (with --errors) answers a request that breaks the spec with a 4xx, and names
each broken rule in an `sl-violations` header or, for its own 422, in the problem
body's `validation` list. A recording proxy between SDK and Prism shows us both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from python_http_client.exceptions import BadRequestsError
from sendgrid import SendGridAPIClient

from nurture.messages.channels.base import OutboundEmail, OutboundSms, PermanentError
from nurture.messages.channels.sendgrid import SendGridChannel, build_mail
from nurture.messages.channels.twilio import TwilioChannel
from tests.contract.conftest import PrismMocks
from tests.helpers.recording_proxy import Exchange, RecordingProxy

pytestmark = pytest.mark.prism

SENDGRID_KEY = "SG.contract-test.not-a-real-key"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
EMAIL = OutboundEmail(
    message_ref="msg-contract-1",
    to="pat.doe@example.com",
    from_email="care@riverside-pt.example",
    from_name="Riverside Physical Therapy",
    subject="Tight hamstrings? It may be your back",
    text="Pat, the sciatic nerve starts in the low back.",
    html="<p>Pat, the sciatic nerve starts in the low back.</p>",
    reply_to="replies@riverside-pt.example",
    headers={
        "List-Unsubscribe": "<https://care.example.test/u/abc>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
)
SMS = OutboundSms(
    message_ref="msg-contract-2",
    to="+12175550199",
    body="Pat, reply BOOK for a free screening.",
    status_callback="https://care.example.test/hooks/twilio/status",
)


def violations(exchange: Exchange) -> list[dict[str, Any]]:
    """Every rule Prism says the request broke."""
    found: list[dict[str, Any]] = json.loads(exchange.header("sl-violations") or "[]")
    if (exchange.header("Content-Type") or "").startswith("application/problem+json"):
        found.extend(json.loads(exchange.body).get("validation", []))
    return found


@pytest.fixture
def sendgrid_proxy(prism: PrismMocks) -> Iterator[RecordingProxy]:
    with RecordingProxy(prism.sendgrid_url) as proxy:
        yield proxy


@pytest.fixture
def twilio_proxy(prism: PrismMocks) -> Iterator[RecordingProxy]:
    with RecordingProxy(prism.twilio_url) as proxy:
        yield proxy


def twilio_channel(url: str, **changes: str) -> TwilioChannel:
    settings = {
        "account_sid": ACCOUNT_SID,
        "auth_token": "not-a-real-auth-token",
        "from_number": "+12175550142",
        "messaging_service_sid": "",
    }
    settings.update(changes)
    return TwilioChannel(**settings, api_url=url, timeout=30.0)


def test_sendgrid_email_meets_the_mail_send_contract(sendgrid_proxy: RecordingProxy) -> None:
    channel = SendGridChannel(api_key=SENDGRID_KEY, api_url=sendgrid_proxy.url, timeout=30.0)

    result = channel.send(EMAIL)

    assert result.status == "sent"
    (exchange,) = sendgrid_proxy.exchanges
    assert exchange.request.path == "/v3/mail/send"
    assert exchange.status == 202
    assert violations(exchange) == []


def test_twilio_sms_meets_the_messages_contract(twilio_proxy: RecordingProxy) -> None:
    channel = twilio_channel(twilio_proxy.url)
    try:
        result = channel.send(SMS)
    finally:
        channel.close()

    assert result.provider_id.startswith("SM")
    (exchange,) = twilio_proxy.exchanges
    assert exchange.request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert exchange.status == 201
    assert violations(exchange) == []


def test_twilio_sms_through_a_messaging_service_meets_the_contract(
    twilio_proxy: RecordingProxy,
) -> None:
    channel = twilio_channel(twilio_proxy.url, messaging_service_sid="MG" + "a1" * 16)
    try:
        channel.send(SMS)
    finally:
        channel.close()

    (exchange,) = twilio_proxy.exchanges
    assert exchange.status == 201
    assert violations(exchange) == []


def test_prism_rejects_a_mail_send_without_a_sender(sendgrid_proxy: RecordingProxy) -> None:
    """The check can fail: a request that breaks the spec is refused and named."""
    body = build_mail(EMAIL).get()
    del body["from"]
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=sendgrid_proxy.url)

    with pytest.raises(BadRequestsError):
        client.client.mail.send.post(request_body=body)

    (exchange,) = sendgrid_proxy.exchanges
    assert any("'from'" in violation["message"] for violation in violations(exchange))


def test_prism_rejects_a_twilio_message_for_a_malformed_account(
    twilio_proxy: RecordingProxy,
) -> None:
    channel = twilio_channel(twilio_proxy.url, account_sid="AC-not-a-real-sid")
    try:
        with pytest.raises(PermanentError):
            channel.send(SMS)
    finally:
        channel.close()

    (exchange,) = twilio_proxy.exchanges
    assert exchange.status == 422
    assert any("accountsid" in str(violation["location"]) for violation in violations(exchange))
