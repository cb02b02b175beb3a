"""The one narrow interface every delivery channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an email, e.g. a booking's calendar invitation."""

    filename: str
    content_type: str  # "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True, slots=True)
class OutboundEmail:
    """A rendered email ready for a provider; `message_ref` is the opaque outbox id."""

    message_ref: str
    to: str
    from_email: str
    from_name: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """A rendered text message; `to` is E.164."""

    message_ref: str
    to: str
    body: str
    status_callback: str | None = None
    # The lead's location's number or Messaging Service SID; None: the channel's own.
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """What the provider said when it accepted the hand-off."""

    provider_id: str
    status: str = "sent"


class ChannelError(Exception):
    """A provider refused or failed; `code` is the provider's own code, as text."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class PermanentError(ChannelError):
    """Retrying will not help. `suppress` means the address itself is unusable."""

    def __init__(self, code: str, detail: str, *, suppress: bool = False) -> None:
        super().__init__(code, detail)
        self.suppress = suppress


class RetryableError(ChannelError):
    """The provider did not take the message this time (rate limit, outage)."""

    def __init__(self, code: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


class OutcomeUnknownError(ChannelError):
    """The request may have reached the provider (a read timeout, a dropped connection):
    retrying could send it twice, so delivery records it as unknown instead."""


class EmailChannel(Protocol):
    name: str

    def send(self, email: OutboundEmail) -> ProviderResult: ...


class SmsChannel(Protocol):
    name: str

    def send(self, sms: OutboundSms) -> ProviderResult: ...
