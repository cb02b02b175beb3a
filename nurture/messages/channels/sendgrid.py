"""Email through SendGrid's v3 mail send API: the official SDK builds the request, and a
kept-alive connection posts it.

The SDK's own client (python_http_client, on urllib) opens a new connection for every
request; at delivery's pace that handshake costs more than the send. The body is still
the SDK's: `build_mail` uses its Mail helpers, so what SendGrid receives is exactly what
the SDK would post (the contract tests check it against SendGrid's OpenAPI document).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.header import Header as EncodedHeader
from email.utils import parsedate_to_datetime
from typing import Protocol

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
from nurture.messages.channels.keepalive import KeepAlivePoster, MaybeSent, NotSent

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
MAIL_SEND_PATH = "/v3/mail/send"
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
    """Sends email through SendGrid over kept-alive connections (safe to share between
    threads); errors come back as permanent or retryable."""

    name = "sendgrid"

    def __init__(self, api_key: str, api_url: str, timeout: float) -> None:
        self._poster = KeepAlivePoster(
            api_url,
            {
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "User-Agent": "nurture (sendgrid)",
            },
            connect_timeout=min(timeout, 5.0),
            read_timeout=timeout,
        )

    def send(self, email: OutboundEmail) -> ProviderResult:
        """Hand the email to SendGrid; the provider id is its X-Message-Id."""
        try:
            body = json.dumps(build_mail(email).get()).encode()
        except (SendGridException, ValueError) as exc:
            # The SDK's own checks (an API key in the body, a malformed address).
            raise PermanentError("invalid-message", type(exc).__name__) from None
        try:
            reply = self._poster.post(MAIL_SEND_PATH, body)
        except NotSent as exc:
            raise RetryableError("connect-failed", str(exc)) from None
        except MaybeSent as exc:
            # The request may have been written: at most once beats at least once.
            detail = (
                "no answer from SendGrid in time"
                if exc.kind == "read-timeout"
                else "connection lost after the request was sent"
            )
            raise OutcomeUnknownError(exc.kind, detail) from None
        if reply.status >= 400:
            raise classify_http_error(reply.status, reply.headers, reply.body)
        return ProviderResult(provider_id=reply.headers.get("X-Message-Id", ""), status="sent")

    def close(self) -> None:
        """Release kept connections."""
        self._poster.close()


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


def classify_http_error(
    status: int, headers: _Headers | Mapping[str, str], body: bytes
) -> PermanentError | RetryableError:
    """Map a SendGrid HTTP error response to our two kinds of failure."""
    detail = f"HTTP {status} from SendGrid{_error_summary(body)}"
    # 408 too: the server gave up waiting for the request, so it was not accepted.
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After"))
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
