"""Text messages through Twilio's Programmable Messaging API, with the official SDK."""

from __future__ import annotations

import re
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from nurture.messages.channels.base import (
    OutboundSms,
    OutcomeUnknownError,
    PermanentError,
    ProviderResult,
    RetryableError,
)
from nurture.phones import is_messaging_service

TWILIO_API_URL = "https://api.twilio.com"

# Twilio errors that mean the recipient's number itself cannot take our texts, so the
# address is suppressed instead of being tried again (https://www.twilio.com/docs/api/errors).
SUPPRESSING_ERRORS = {
    21211: "the 'To' number is not a valid phone number",
    21610: "the recipient replied STOP and is unsubscribed from this sender",
    21614: "the 'To' number is not a valid mobile number (landline or invalid)",
    21635: "the 'To' number is a landline",
}
# Permanent, but about our account or sender, not the number: fix configuration.
ACCOUNT_ERRORS = {
    20003: "authentication failed",
    21408: "sending to this region is not enabled for the account",
    21606: "the 'From' number cannot send to this destination",
    21608: "trial accounts can only send to verified numbers",
    21612: "this 'To' and 'From' combination cannot be routed",
}
# Every Twilio host the SDK may build (api, api.<edge>.<region>, ...) is rewritten.
_TWILIO_ORIGIN = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com(?=/|$)")


class _RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's own HTTP client, with Twilio's origin replaced by a configured base URL.

    Twilio documents a custom HTTP client as the way to reach a mock such as Prism;
    rewriting after the SDK has built the URL keeps every path exactly the SDK's.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request to the configured base URL instead of twilio.com."""
        rebased = _TWILIO_ORIGIN.sub(lambda _: self.base_url, url)
        return super().request(method, rebased, *args, **kwargs)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was refused or failed before the request was written."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class TwilioChannel:
    """Sends text messages through Twilio; errors come back as permanent or retryable."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        messaging_service_sid: str,
        api_url: str,
        timeout: float,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a from number or a messaging service SID")
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        http_client = (
            TwilioHttpClient(timeout=timeout)
            if api_url.rstrip("/") == TWILIO_API_URL
            else _RebasedHttpClient(api_url, timeout)
        )
        self._client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=http_client,
        )
        # The SDK imports each API's modules on first use (about 50 ms): done here, not
        # on the first hand-off, which would then miss the moment its sender's rate set.
        self._messages = self._client.messages

    def send(self, sms: OutboundSms) -> ProviderResult:
        """Hand the text to Twilio; the provider id is the message SID."""
        params: dict[str, str] = {"to": sms.to, "body": sms.body}
        sender = sms.sender or self._messaging_service_sid or self._from_number
        # A messaging service picks the sender from its pool and applies its opt-outs.
        if is_messaging_service(sender):
            params["messaging_service_sid"] = sender
        else:
            params["from_"] = sender
        if sms.status_callback:
            params["status_callback"] = sms.status_callback
        try:
            message = self._messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise classify_twilio_error(exc.status, exc.code) from None
        except requests.ConnectTimeout:
            raise RetryableError("connect-timeout", "could not reach Twilio in time") from None
        except requests.ReadTimeout:
            raise OutcomeUnknownError("read-timeout", "no answer from Twilio in time") from None
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise RetryableError("connection-error", type(exc).__name__) from None
            raise OutcomeUnknownError("connection-lost", type(exc).__name__) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise OutcomeUnknownError("connection-lost", type(exc).__name__) from None
        except requests.RequestException as exc:
            raise PermanentError("request-error", type(exc).__name__) from None
        return ProviderResult(provider_id=str(message.sid), status=str(message.status or "queued"))

    def close(self) -> None:
        """Release pooled connections."""
        session = self._client.http_client.session
        if session is not None:
            session.close()


def classify_twilio_error(status: int, code: int | None) -> PermanentError | RetryableError:
    """Map a Twilio error to our two kinds of failure, by HTTP status and Twilio code.

    The detail is built from the code alone: Twilio's messages quote the phone number.
    """
    code_text = str(code or status)
    if status == 429 or status >= 500:
        return RetryableError(code_text, f"Twilio is unavailable or rate limiting (HTTP {status})")
    if code in SUPPRESSING_ERRORS:
        return PermanentError(code_text, SUPPRESSING_ERRORS[code], suppress=True)
    reason = ACCOUNT_ERRORS.get(code or 0, "Twilio rejected the request")
    return PermanentError(code_text, f"{reason} (HTTP {status})", suppress=False)
