"""A prospect's phone for the demo: texts posted to the app's Twilio webhook, in-process.

Each text is an HTTP request through the whole ASGI app (middleware, routing, form
parsing, the signature check, the reply conversation) as one from Twilio would be;
only the socket is missing. It is signed as Twilio signs, with the SDK's
RequestValidator and the auth token, for PUBLIC_BASE_URL + path: the URL Twilio is
given. The request is driven here rather than with httpx because httpx is a
development dependency and `nurture demo` also runs from the production install.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Message
from twilio.request_validator import RequestValidator

from nurture.config import Settings

SMS_WEBHOOK = "/webhooks/twilio/sms"
SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes


async def post_form(
    app: ASGIApp, url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> HttpAnswer:
    """POST an urlencoded form to an ASGI app and collect its whole answer."""
    parts = urlsplit(url)
    body = urlencode(form).encode()
    secure = parts.scheme == "https"
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": parts.scheme,
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [
            (b"host", parts.netloc.encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 0),
        "server": (parts.hostname or "localhost", parts.port or (443 if secure else 80)),
    }
    status, content_type, chunks = 0, "", []
    body_sent, done = False, anyio.Event()

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # A client stays connected until the answer is complete; only then "disconnect".
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return HttpAnswer(status, content_type, b"".join(chunks))


def twiml_messages(body: bytes) -> list[str]:
    """The texts a TwiML <Response> sends back (none for an empty one)."""
    # Our own app's answer, not outside input: the stdlib parser is safe enough here.
    root = ElementTree.fromstring(body)  # noqa: S314
    if root.tag != "Response":
        raise ValueError(f"not a TwiML response: <{root.tag}>")
    return [element.text or "" for element in root.iter("Message")]


@dataclass(frozen=True, slots=True)
class TextAnswer:
    sid: str  # the MessageSid the text was posted with
    status: int
    answers: list[str]  # the clinic's texts back, from the TwiML
    body: bytes


class TwilioWebhookPhone:
    """Texts the clinic's number through the app's inbound-SMS webhook, signed as Twilio does."""

    def __init__(self, app: ASGIApp, settings: Settings, portal: BlockingPortal) -> None:
        if not settings.twilio_auth_token:
            raise ValueError("TWILIO_AUTH_TOKEN is needed to sign webhook requests")
        self.app, self.settings, self.portal = app, settings, portal
        self.url = settings.public_base_url.rstrip("/") + SMS_WEBHOOK
        self.validator = RequestValidator(settings.twilio_auth_token)

    def text(self, sender: str, body: str) -> TextAnswer:
        """Send `body` from `sender` (E.164) and return the clinic's TwiML answer."""
        sid = f"SM{uuid.uuid4().hex}"
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": self.settings.clinic_phone,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }
        signature = self.validator.compute_signature(self.url, form)
        answer = self.portal.call(
            post_form, self.app, self.url, form, {SIGNATURE_HEADER: signature}
        )
        messages = twiml_messages(answer.body) if answer.status == 200 else []
        return TextAnswer(sid, answer.status, messages, answer.body)


@contextmanager
def webhook_phone(app: ASGIApp, settings: Settings) -> Iterator[TwilioWebhookPhone]:
    """A phone on an event loop of its own (a thread) for the duration of the block."""
    with start_blocking_portal() as portal:
        yield TwilioWebhookPhone(app, settings, portal)
