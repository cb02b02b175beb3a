"""Email through SendGrid's v3 mail send API, with the official SDK."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import urllib.error
from datetime import UTC, datetime
from email.header import Header as EncodedHeader
from email.utils import parsedate_to_datetime
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment as SendGridAttachment
from sendgrid.helpers.mail import (
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    ReplyTo,
    SendGridException,
    To,
)

from nurture.messages.channels.base import (
    OutboundEmail,
    OutcomeUnknownError,
    PermanentError,
    ProviderResult,
    RetryableError,
)

# SendGrid refuses a send that sets these (mail send spec, `headers`); the ones we
# need are set through their own fields.
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
# python_http_client logs each request's body and Authorization header at DEBUG; drop
# those records so personal data and the API key never reach the logs.
logging.getLogger("python_http_client.client").addFilter(
    lambda record: record.levelno > logging.DEBUG
)
_EMAIL_ADDRESS = re.compile(r"[^\s@<>\"',;]+@[^\s@<>\"',;]+")
_API_KEY = re.compile(r"SG\.[\w-]+\.[\w-]+")


def build_mail(email: OutboundEmail) -> Mail:
    """The SendGrid request for `email`; its only custom arg is the opaque message ref."""
    mail = Mail(
        from_email=From(email.from_email, email.from_name or None),
        to_emails=To(email.to),
        subject=email.subject,
        plain_text_content=email.text or None,
        html_content=email.html or None,
    )
    if email.reply_to:
        mail.reply_to = ReplyTo(email.reply_to)
    for name, value in email.headers.items():
        if name.lower() in RESERVED_HEADERS:
            raise PermanentError("reserved-header", f"SendGrid does not allow setting {name}")
        # SendGrid passes header values through as they are: non-ASCII must be encoded.
        encoded = value if value.isascii() else EncodedHeader(value, "utf-8").encode()
        mail.add_header(Header(name, encoded))
    for attachment in email.attachments:
        mail.add_attachment(
            SendGridAttachment(
                FileContent(base64.b64encode(attachment.data).decode("ascii")),
                FileName(attachment.filename),
                FileType(attachment.content_type.split(";")[0]),
                Disposition("attachment"),
            )
        )
    # On the personalization: the spec types the message-level custom_args as a string.
    mail.add_custom_arg(CustomArg("message_ref", email.message_ref, p=0))
    return mail


class SendGridChannel:
    """Sends email through SendGrid; errors come back as permanent or retryable."""

    name = "sendgrid"

    def __init__(self, api_key: str, api_url: str, timeout: float) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=api_url.rstrip("/"))
        self._timeout = timeout

    def send(self, email: OutboundEmail) -> ProviderResult:
        """Hand the email to SendGrid; the provider id is its X-Message-Id."""
        try:
            body = build_mail(email).get()
        except (SendGridException, ValueError) as exc:
            # The SDK's own checks (an API key in the body, a malformed address).
            raise PermanentError("invalid-message", type(exc).__name__) from None
        try:
            # SendGridAPIClient takes no timeout; the HTTP client it wraps takes one per call.
            response = self._client.client.mail.send.post(request_body=body, timeout=self._timeout)
        except HTTPError as exc:
            raise classify_http_error(exc) from None
        except urllib.error.URLError as exc:
            # Raised while connecting or sending: SendGrid never had the request.
            raise RetryableError("connect-failed", _reason(exc.reason)) from None
        except TimeoutError:
            raise OutcomeUnknownError("read-timeout", "no answer from SendGrid in time") from None
        except (http.client.HTTPException, OSError) as exc:
            raise OutcomeUnknownError("connection-lost", _reason(exc)) from None
        provider_id = response.headers.get("X-Message-Id") or ""
        return ProviderResult(provider_id=str(provider_id), status="sent")


def classify_http_error(exc: HTTPError) -> PermanentError | RetryableError:
    """Map a SendGrid HTTP error response to our two kinds of failure."""
    status = int(exc.status_code)
    headers: Any = exc.headers
    detail = f"HTTP {status} from SendGrid{_error_summary(exc.body)}"
    # 408 too: the server gave up waiting for the request, so it was not accepted.
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
        return RetryableError(str(status), detail, retry_after=retry_after)
    # A 4xx from mail send is about our request or account, never the recipient.
    return PermanentError(str(status), detail, suppress=False)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _error_summary(body: object) -> str:
    """SendGrid's own error messages, minus anything that looks like an address or key."""
    try:
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        errors = json.loads(text).get("errors") or []
        messages = [str(error.get("message", "")) for error in errors if isinstance(error, dict)]
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""
    summary = "; ".join(message for message in messages if message)
    summary = _API_KEY.sub("[key]", _EMAIL_ADDRESS.sub("[address]", summary))
    return f": {summary[:200]}" if summary else ""


def _reason(reason: object) -> str:
    """A network failure's kind, without the message text that may carry a URL."""
    return type(reason).__name__ if isinstance(reason, BaseException) else "network error"
