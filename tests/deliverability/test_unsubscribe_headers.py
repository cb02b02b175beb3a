"""The unsubscribe promise as a mailbox provider sees it: read from the message actually
sent (the console .eml, the SendGrid request), then used the way Gmail and Yahoo use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.consent.policy import SendingPolicy
from nurture.links import make_token, reply_address
from nurture.messages.channels.base import EmailChannel
from nurture.messages.channels.console import ConsoleEmailChannel
from nurture.messages.channels.sendgrid import SendGridChannel
from nurture.messages.deliver import Delivery
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.factories import capture
from tests.fakes import RecordingChannel
from tests.harness import Harness
from tests.helpers.stub_server import StubResponse, StubServer
from tests.support import Database, tamper
from tests.web.conftest import path_of

DOMAIN = "reply.riverside-pt.example"
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    """A clinic whose product reads inbound mail (SendGrid Inbound Parse on DOMAIN)."""
    return settings.model_copy(update={"inbound_email_domain": DOMAIN})


@pytest.fixture
def client(db: Database, clock: ManualClock, mail_settings: Settings) -> Iterator[TestClient]:
    """The real app on the test database; a fresh client carries no cookies."""
    app: FastAPI = create_app()
    app.state.settings = mail_settings
    app.state.clock = clock
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    with TestClient(app, follow_redirects=False) as client:
        yield client


@dataclass(frozen=True)
class SentEmail:
    """What left the product for one email, read back from the wire format."""

    list_unsubscribe: str
    list_unsubscribe_post: str
    text: str
    html: str


@dataclass(frozen=True)
class Lead:
    lead_id: int
    public_id: str


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((" ".join(self._text.split()), self._href))
            self._href = None


def visible_links(html: str) -> list[tuple[str, str]]:
    """(text, href) of every link a reader sees in the HTML part."""
    parser = _Links()
    parser.feed(html)
    return parser.links


def header_uris(value: str) -> list[str]:
    """The URIs of a List-Unsubscribe value, in order (RFC 2369: <uri>, <uri>)."""
    return re.findall(r"<([^<>]+)>", value)


def send_welcome(
    db: Database, clock: ManualClock, settings: Settings, email: EmailChannel
) -> tuple[Lead, Message]:
    """Capture Dana and let dispatch and delivery hand her welcome email to `email`."""
    result = capture(db.factory, clock, settings)
    ids: list[int] = []
    dispatch_due(
        db.factory,
        clock.now(),
        ids.extend,
        batch_size=100,
        clinic_zone=settings.clinic_zone,
        policy=SendingPolicy.from_settings(settings),
    )
    Delivery(db.factory, clock, settings, email, RecordingChannel()).deliver_batch(ids)
    with db.factory() as session:
        message = session.scalars(
            select(Message).where(Message.step_key == "welcome-article")
        ).one()
    assert message.status == "sent", message.reason
    return Lead(result.lead_id, result.lead_public_id), message


def sent_through_console(
    db: Database, clock: ManualClock, settings: Settings
) -> tuple[Lead, SentEmail]:
    """Send the welcome email through the console channel and parse the .eml it wrote."""
    lead, message = send_welcome(db, clock, settings, ConsoleEmailChannel(settings.outbox_dir))
    with (settings.outbox_dir / f"{message.ref}.eml").open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return lead, SentEmail(
        list_unsubscribe=str(parsed["List-Unsubscribe"]),
        list_unsubscribe_post=str(parsed["List-Unsubscribe-Post"]),
        text=text.get_content(),
        html=html.get_content(),
    )


def sent_through_sendgrid(
    db: Database, clock: ManualClock, settings: Settings
) -> tuple[Lead, SentEmail]:
    """Send the welcome email through the SendGrid SDK to a local stub; parse its request."""
    accepted = StubResponse(202, headers={"X-Message-Id": "sg-stub-1"})
    with StubServer(accepted) as stub:
        channel = SendGridChannel(api_key="SG.test-key.stub", api_url=stub.url, timeout=5)
        lead, _ = send_welcome(db, clock, settings, channel)
    (request,) = stub.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    body = request.json()
    content = {part["type"]: part["value"] for part in body["content"]}
    return lead, SentEmail(
        list_unsubscribe=body["headers"]["List-Unsubscribe"],
        list_unsubscribe_post=body["headers"]["List-Unsubscribe-Post"],
        text=content["text/plain"],
        html=content["text/html"],
    )


SENDERS = {"console": sent_through_console, "sendgrid": sent_through_sendgrid}


def assert_keeps_the_unsubscribe_promise(sent: SentEmail, settings: Settings, lead: Lead) -> str:
    """Both RFC 8058 headers, the postal address and a visible link in both parts."""
    https, mailto = header_uris(sent.list_unsubscribe)
    assert https.startswith("https://care.example.test/unsubscribe/")
    assert mailto == f"mailto:{reply_address(settings, lead.public_id)}?subject=unsubscribe"
    assert mailto.startswith(f"mailto:reply+{lead.public_id}-")
    assert sent.list_unsubscribe_post == "List-Unsubscribe=One-Click"
    for part in (sent.text, sent.html):
        assert settings.clinic_address in part
    assert f"Unsubscribe: {https}" in sent.text
    assert ("Unsubscribe", https) in visible_links(sent.html)
    return https


def one_click(client: TestClient, url: str) -> Any:
    """Exactly what a mailbox provider POSTs for RFC 8058 one-click: no cookies, no script."""
    assert not client.cookies
    return client.post(
        path_of(url),
        content=ONE_CLICK_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def ledger(db: Database, lead_id: int) -> list[tuple[str, str, str]]:
    with db.factory() as session:
        return [
            (e.channel, e.action, e.source)
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.lead_id == lead_id)
                .order_by(ConsentEvent.id)
            )
        ]


def test_sent_eml_offers_one_click_and_mailto_unsubscribe_with_address_and_visible_links(
    db: Database, clock: ManualClock, mail_settings: Settings, campaign: int
) -> None:
    lead, sent = sent_through_console(db, clock, mail_settings)
    assert_keeps_the_unsubscribe_promise(sent, mail_settings, lead)


def test_sendgrid_request_offers_one_click_and_mailto_unsubscribe_with_address_and_links(
    db: Database, clock: ManualClock, mail_settings: Settings, campaign: int
) -> None:
    lead, sent = sent_through_sendgrid(db, clock, mail_settings)
    assert_keeps_the_unsubscribe_promise(sent, mail_settings, lead)


def test_without_an_inbound_mail_domain_the_header_offers_only_the_https_link(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    _, sent = sent_through_console(db, clock, settings)
    (only,) = header_uris(sent.list_unsubscribe)
    assert only.startswith("https://care.example.test/unsubscribe/")
    assert "mailto:" not in sent.list_unsubscribe
    assert sent.list_unsubscribe_post == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("transport", sorted(SENDERS))
def test_one_click_post_to_the_sent_header_link_stops_email_once_and_skips_the_next_email(
    db: Database,
    clock: ManualClock,
    mail_settings: Settings,
    campaign: int,
    client: TestClient,
    transport: str,
) -> None:
    lead, sent = SENDERS[transport](db, clock, mail_settings)
    https = assert_keeps_the_unsubscribe_promise(sent, mail_settings, lead)

    first = one_click(client, https)
    assert first.status_code == 200
    assert "You will not receive any more emails" in first.text
    assert "set-cookie" not in first.headers
    after_first = ledger(db, lead.lead_id)
    assert after_first[-1] == ("email", "revoked", "unsubscribe-link")
    with db.factory() as session:
        assert current_consent(session, lead.lead_id) == {Channel.EMAIL: False, Channel.SMS: True}

    second = one_click(client, https)
    assert second.status_code == 200
    assert ledger(db, lead.lead_id) == after_first

    harness = Harness(db, clock, mail_settings)
    harness.run_for(timedelta(days=2, hours=6))
    messages = harness.messages()
    skipped = messages["why-stretching-alone"]
    assert (skipped.status, skipped.reason) == ("skipped", "no email consent")
    assert harness.email.sent == []
    # Texts were not part of the opt-out: the SMS step still went.
    assert messages["sms-hello"].status == "sent"


def test_opening_the_header_link_changes_nothing(
    db: Database, clock: ManualClock, mail_settings: Settings, campaign: int, client: TestClient
) -> None:
    lead, sent = sent_through_console(db, clock, mail_settings)
    https, _ = header_uris(sent.list_unsubscribe)
    before = ledger(db, lead.lead_id)
    response = client.get(path_of(https))
    assert response.status_code == 200
    assert f'action="{path_of(https)}"' in response.text
    assert ledger(db, lead.lead_id) == before
    assert all(action == ConsentAction.GRANTED for _, action, _ in before)


def test_unsubscribe_link_signed_61_days_ago_still_works(
    db: Database, clock: ManualClock, mail_settings: Settings, campaign: int, client: TestClient
) -> None:
    result = capture(db.factory, clock, mail_settings)
    # itsdangerous stamps the token with the wall clock at signing time.
    with time_machine.travel(datetime.now(UTC) - timedelta(days=61), tick=False):
        token = make_token(
            mail_settings, "unsubscribe", {"lead": result.lead_public_id, "channel": "email"}
        )
    response = one_click(client, f"https://care.example.test/unsubscribe/{token}")
    assert response.status_code == 200
    assert ledger(db, result.lead_id)[-1] == ("email", "revoked", "unsubscribe-link")


def test_tampered_header_link_is_refused_and_changes_nothing(
    db: Database, clock: ManualClock, mail_settings: Settings, campaign: int, client: TestClient
) -> None:
    lead, sent = sent_through_console(db, clock, mail_settings)
    https, _ = header_uris(sent.list_unsubscribe)
    head, token = https.rsplit("/", 1)
    # Flip one character of the signature.
    tampered = f"{head}/{tamper(token)}"
    before = ledger(db, lead.lead_id)
    response = one_click(client, tampered)
    assert response.status_code == 400
    assert "This link is not valid." in response.text
    assert client.get(path_of(tampered)).status_code == 400
    assert ledger(db, lead.lead_id) == before
