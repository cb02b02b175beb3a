"""The provider channels, through the real SDKs, against a stub provider on 127.0.0.1.

Each provider answer must come back as the right kind of error, and no error may
carry the recipient's address, the message body or a credential.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from nurture.messages.channels.base import (
    ChannelError,
    OutboundEmail,
    OutboundSms,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
)
from nurture.messages.channels.sendgrid import SendGridChannel, parse_retry_after
from nurture.messages.channels.twilio import TwilioChannel
from tests.helpers.net import free_port
from tests.helpers.stub_server import StubResponse, StubServer

SENDGRID_KEY = "SG.not-a-real-key.c2VjcmV0LWtleS12YWx1ZQ"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "not-a-real-auth-token-0123456789"
CLINIC_NUMBER = "+12175550142"
LEAD_EMAIL = "pat.doe@example.com"
LEAD_PHONE = "+12175550199"
EMAIL_BODY = "Pat, the sciatic nerve starts in your low back."
SMS_BODY = "Pat, reply BOOK for a free screening."
PRIVATE = (SENDGRID_KEY, AUTH_TOKEN, LEAD_EMAIL, LEAD_PHONE, LEAD_PHONE[2:], EMAIL_BODY, SMS_BODY)


def outbound_email(**changes: Any) -> OutboundEmail:
    values: dict[str, Any] = {
        "message_ref": "msg-42",
        "to": LEAD_EMAIL,
        "from_email": "care@riverside-pt.example",
        "from_name": "Riverside PT",
        "subject": "Why the back of your knee hurts",
        "text": EMAIL_BODY,
        "html": f"<p>{EMAIL_BODY}</p>",
        "reply_to": "replies@riverside-pt.example",
        "headers": {"List-Unsubscribe": "<https://care.example.test/u/abc>"},
    }
    values.update(changes)
    return OutboundEmail(**values)


SMS = OutboundSms("msg-43", LEAD_PHONE, SMS_BODY, "https://care.example.test/hooks/twilio")


def sendgrid_at(url: str, timeout: float = 5.0) -> SendGridChannel:
    return SendGridChannel(api_key=SENDGRID_KEY, api_url=url, timeout=timeout)


@pytest.fixture
def twilio_at() -> Iterator[Any]:
    channels: list[TwilioChannel] = []

    def make(url: str, timeout: float = 5.0, messaging_service_sid: str = "") -> TwilioChannel:
        channel = TwilioChannel(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            from_number=CLINIC_NUMBER,
            messaging_service_sid=messaging_service_sid,
            api_url=url,
            timeout=timeout,
        )
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        channel.close()


def assert_private(error: ChannelError) -> None:
    """Nothing personal or secret in what gets stored and logged about a failure."""
    text = f"{error} {error!r} {error.code} {error.detail}"
    for secret in PRIVATE:
        assert secret not in text
    # Chained exceptions reach logs through tracebacks; they quote the provider's message.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def collect(document: object, key: str) -> list[object]:
    """Every value stored under `key`, anywhere in a JSON document."""
    found: list[object] = []
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key:
                found.append(value)
            found.extend(collect(value, key))
    elif isinstance(document, list):
        for item in document:
            found.extend(collect(item, key))
    return found


def twilio_error(status: int, code: int, message: str) -> StubResponse:
    return StubResponse.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


# --- SendGrid -------------------------------------------------------------------


def test_sendgrid_send_returns_the_x_message_id(stub: StubServer) -> None:
    stub.respond_with(StubResponse(202, headers={"X-Message-Id": "sg-abc123"}))

    result = sendgrid_at(stub.url).send(outbound_email())

    assert (result.provider_id, result.status) == ("sg-abc123", "sent")
    (request,) = stub.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["Authorization"] == f"Bearer {SENDGRID_KEY}"
    body = request.json()
    assert body["from"] == {"email": "care@riverside-pt.example", "name": "Riverside PT"}
    assert body["personalizations"][0]["to"] == [{"email": LEAD_EMAIL}]
    assert body["reply_to"] == {"email": "replies@riverside-pt.example"}
    assert body["subject"] == "Why the back of your knee hurts"
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    assert body["headers"] == {"List-Unsubscribe": "<https://care.example.test/u/abc>"}


def test_sendgrid_custom_args_carry_only_the_message_ref(stub: StubServer) -> None:
    stub.respond_with(StubResponse(202))

    sendgrid_at(stub.url).send(outbound_email())

    assert collect(stub.requests[0].json(), "custom_args") == [{"message_ref": "msg-42"}]


def test_sendgrid_answer_without_message_id_gives_an_empty_provider_id(stub: StubServer) -> None:
    stub.respond_with(StubResponse(202))

    assert sendgrid_at(stub.url).send(outbound_email()).provider_id == ""


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (429, {}, None),
        (500, {}, None),
        (503, {"Retry-After": "120"}, 120.0),
    ],
)
def test_sendgrid_rate_limit_and_outage_are_retryable(
    stub: StubServer, status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    stub.respond_with(StubResponse.json(status, {"errors": [{"message": "busy"}]}, headers))

    with pytest.raises(RetryableError) as caught:
        sendgrid_at(stub.url).send(outbound_email())

    assert caught.value.code == str(status)
    assert caught.value.retry_after == retry_after
    assert_private(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_sendgrid_client_errors_are_permanent_and_do_not_suppress_the_address(
    stub: StubServer, status: int
) -> None:
    stub.respond_with(
        StubResponse.json(
            status,
            {
                "errors": [
                    {
                        "message": f"The to email {LEAD_EMAIL} is not valid; key {SENDGRID_KEY}",
                        "field": "personalizations.0.to",
                    }
                ]
            },
        )
    )

    with pytest.raises(PermanentError) as caught:
        sendgrid_at(stub.url).send(outbound_email())

    assert caught.value.code == str(status)
    assert caught.value.suppress is False
    assert "is not valid" in caught.value.detail  # SendGrid's reason, scrubbed, stays
    assert_private(caught.value)


def test_sendgrid_connection_refused_is_retryable() -> None:
    with pytest.raises(RetryableError) as caught:
        sendgrid_at(f"http://127.0.0.1:{free_port()}").send(outbound_email())

    assert caught.value.code == "connect-failed"
    assert_private(caught.value)


def test_sendgrid_timeout_is_an_unknown_outcome_not_a_retry(stub: StubServer) -> None:
    stub.respond_with(StubResponse(202, delay=5.0))

    with pytest.raises(OutcomeUnknownError) as caught:
        sendgrid_at(stub.url, timeout=0.2).send(outbound_email())

    assert caught.value.code == "read-timeout"
    assert_private(caught.value)


def test_sendgrid_reserved_header_is_refused_before_anything_is_sent(stub: StubServer) -> None:
    with pytest.raises(PermanentError) as caught:
        sendgrid_at(stub.url).send(outbound_email(headers={"Reply-To": LEAD_EMAIL}))

    assert caught.value.code == "reserved-header"
    assert stub.requests == []
    assert_private(caught.value)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_debug_logging_of_either_sdk_shows_no_address_body_or_secret(
    stub: StubServer, twilio_at: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.respond_with(StubResponse(202, headers={"X-Message-Id": "sg-1"}))
    sendgrid_at(stub.url).send(outbound_email())
    stub.respond_with(twilio_message())
    twilio_at(stub.url).send(SMS)

    assert caplog.records  # the SDKs did log
    for secret in PRIVATE:
        assert secret not in caplog.text


# --- Twilio ---------------------------------------------------------------------


def twilio_message(status: str = "queued") -> StubResponse:
    return StubResponse.json(
        201, {"sid": "SM" + "f" * 32, "status": status, "account_sid": ACCOUNT_SID}
    )


def test_twilio_send_goes_to_the_configured_base_url_and_returns_the_sid(
    stub: StubServer, twilio_at: Any
) -> None:
    stub.respond_with(twilio_message("accepted"))

    result = twilio_at(stub.url).send(SMS)

    assert (result.provider_id, result.status) == ("SM" + "f" * 32, "accepted")
    (request,) = stub.requests
    assert (request.method, request.path) == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
    )
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.form() == {
        "To": [LEAD_PHONE],
        "Body": [SMS_BODY],
        "From": [CLINIC_NUMBER],
        "StatusCallback": ["https://care.example.test/hooks/twilio"],
    }


def test_twilio_messaging_service_replaces_the_from_number(
    stub: StubServer, twilio_at: Any
) -> None:
    stub.respond_with(twilio_message())
    service = "MG" + "1" * 32

    twilio_at(stub.url, messaging_service_sid=service).send(
        OutboundSms("msg-44", LEAD_PHONE, SMS_BODY)
    )

    form = stub.requests[0].form()
    assert form["MessagingServiceSid"] == [service]
    assert "From" not in form
    assert "StatusCallback" not in form


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21610, f"Attempt to send to unsubscribed recipient {LEAD_PHONE}"),
        (21211, f"The 'To' number {LEAD_PHONE[2:]} is not a valid phone number."),
        (21614, f"'To' number {LEAD_PHONE} is not a valid mobile number"),
        (21635, f"'To' number {LEAD_PHONE} cannot be a landline"),
    ],
)
def test_twilio_errors_about_the_number_itself_suppress_it(
    stub: StubServer, twilio_at: Any, code: int, message: str
) -> None:
    stub.respond_with(twilio_error(400, code, message))

    with pytest.raises(PermanentError) as caught:
        twilio_at(stub.url).send(SMS)

    assert caught.value.code == str(code)
    assert caught.value.suppress is True
    assert_private(caught.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 21612), (400, 21408), (400, 21606), (400, 21604), (401, 20003), (404, 20404)],
)
def test_twilio_errors_about_our_request_or_account_do_not_suppress(
    stub: StubServer, twilio_at: Any, status: int, code: int
) -> None:
    stub.respond_with(twilio_error(status, code, f"Cannot send to {LEAD_PHONE} from here"))

    with pytest.raises(PermanentError) as caught:
        twilio_at(stub.url).send(SMS)

    assert caught.value.code == str(code)
    assert caught.value.suppress is False
    assert_private(caught.value)


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, 20503)])
def test_twilio_rate_limit_and_outage_are_retryable(
    stub: StubServer, twilio_at: Any, status: int, code: int
) -> None:
    stub.respond_with(twilio_error(status, code, f"Busy, try {LEAD_PHONE} later"))

    with pytest.raises(RetryableError) as caught:
        twilio_at(stub.url).send(SMS)

    assert caught.value.code == str(code)
    assert_private(caught.value)


def test_twilio_error_without_a_json_body_is_classified_by_status(
    stub: StubServer, twilio_at: Any
) -> None:
    stub.respond_with(StubResponse(502, body=b"<html>Bad gateway</html>"))

    with pytest.raises(RetryableError) as caught:
        twilio_at(stub.url).send(SMS)

    assert caught.value.code == "502"
    assert_private(caught.value)


def test_twilio_connection_refused_is_retryable(twilio_at: Any) -> None:
    with pytest.raises(RetryableError) as caught:
        twilio_at(f"http://127.0.0.1:{free_port()}").send(SMS)

    assert caught.value.code == "connection-error"
    assert_private(caught.value)


def test_twilio_timeout_is_an_unknown_outcome_not_a_retry(stub: StubServer, twilio_at: Any) -> None:
    stub.respond_with(StubResponse(201, delay=5.0))

    with pytest.raises(OutcomeUnknownError) as caught:
        twilio_at(stub.url, timeout=0.2).send(SMS)

    assert caught.value.code == "read-timeout"
    assert_private(caught.value)
