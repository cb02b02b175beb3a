"""Replies by email, as SendGrid Inbound Parse posts them (multipart, HTTP Basic auth)."""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.leads.capture import CaptureResult
from nurture.links import reply_address
from nurture.messages.channels.base import OutboundEmail
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.replies.models import InboundMessage, InboxItem
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

PATH = "/webhooks/sendgrid/inbound"
USER, PASSWORD = "sendgrid", "inbound-secret-2026"
DOMAIN = "reply.riverside-pt.example"
_ids = itertools.count(1)

QUOTED_INVITE = """

On Mon, Nov 2, 2026 at 9:00 AM Riverside Physical Therapy <care@riverside-pt.example> wrote:
> Hi Dana, your free screening is waiting.
> Reply BOOK to book, or STOP to unsubscribe.
"""


@pytest.fixture
def app(app: FastAPI, settings: Settings) -> FastAPI:
    app.state.settings = settings.model_copy(
        update={
            "sendgrid_inbound_user": USER,
            "sendgrid_inbound_password": PASSWORD,
            "inbound_email_domain": DOMAIN,
        }
    )
    return app


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    return capture(db.factory, clock, settings)


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def parsed_email(
    text: str,
    *,
    sender: str = "Dana <dana@example.com>",
    to: str = "care@riverside-pt.example",
    message_id: str | None = None,
    subject: str = "Re: your free screening is waiting",
) -> dict[str, str]:
    """The fields SendGrid Inbound Parse posts for one email."""
    message_id = message_id or f"<{next(_ids)}.reply@mail.example.com>"
    envelope_to = to.split("<")[-1].rstrip(">")
    return {
        "headers": (
            f"Received: by mx.sendgrid.net\nMessage-ID: {message_id}\nFrom: {sender}\n"
            f"To: {to}\nSubject: {subject}\nContent-Type: multipart/alternative\n"
        ),
        "from": sender,
        "to": to,
        "subject": subject,
        "text": text,
        "html": "<p>" + text.replace("\n", "<br>") + "</p>",
        "envelope": f'{{"to":["{envelope_to}"],"from":"dana@example.com"}}',
        "charsets": '{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}',
        "SPF": "pass",
        "sender_ip": "192.0.2.10",
        "spam_score": "0.1",
        "attachments": "0",
    }


def post(client: TestClient, fields: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    # (None, value) parts: a real multipart/form-data body, as SendGrid sends it.
    files = {name: (None, value) for name, value in fields.items()}
    return client.post(PATH, files=files, headers=basic() if headers is None else headers)


def inbound(db: Database) -> list[InboundMessage]:
    with db.factory() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def replies(db: Database) -> list[Message]:
    with db.factory() as session:
        return list(session.scalars(select(Message).where(Message.step_key == "reply")))


def consent(db: Database, lead_id: int) -> dict[Channel, bool]:
    with db.factory() as session:
        return current_consent(session, lead_id)


@pytest.mark.parametrize(
    "headers",
    [{}, basic(password="wrong"), basic(user="someone"), {"Authorization": "Bearer x"}],
    ids=["none", "wrong-password", "wrong-user", "not-basic"],
)
def test_posts_without_the_right_credentials_are_refused_and_change_nothing(
    client: TestClient, db: Database, lead: CaptureResult, headers: dict[str, str]
) -> None:
    response = post(client, parsed_email("STOP"), headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert inbound(db) == []
    assert consent(db, lead.lead_id)[Channel.EMAIL]


def test_without_configured_credentials_every_post_is_refused(
    app: FastAPI, client: TestClient, db: Database, settings: Settings, lead: CaptureResult
) -> None:
    app.state.settings = settings  # SENDGRID_INBOUND_USER/PASSWORD unset
    assert post(client, parsed_email("STOP"), basic("", "")).status_code == 401
    assert post(client, parsed_email("STOP")).status_code == 401
    assert inbound(db) == []


def test_a_reply_to_the_leads_reply_address_is_matched_by_its_token(
    client: TestClient, db: Database, settings: Settings, lead: CaptureResult
) -> None:
    address = reply_address(
        settings.model_copy(update={"inbound_email_domain": DOMAIN}), lead.lead_public_id
    )
    assert address is not None
    # Sent from a work address the clinic has never seen: the token still names Dana.
    fields = parsed_email("unsubscribe", sender="Dana S <dana.s@work.example>", to=address)
    response = post(client, fields)
    assert response.status_code == 200
    assert response.json() == {"duplicate": False, "intent": "stop"}
    assert consent(db, lead.lead_id) == {Channel.EMAIL: False, Channel.SMS: True}
    [message] = inbound(db)
    assert (message.lead_id, message.sender) == (lead.lead_id, "dana.s@work.example")


def test_a_reply_without_a_token_is_matched_by_the_sender_address(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    response = post(client, parsed_email("STOP", sender="DANA@EXAMPLE.COM"))
    assert response.json()["intent"] == "stop"
    assert consent(db, lead.lead_id) == {Channel.EMAIL: False, Channel.SMS: True}


def test_a_forged_token_falls_back_to_the_sender(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult
) -> None:
    other = capture(db.factory, clock, settings, email="sam@example.com", phone=None)
    forged = f"reply+{other.lead_public_id}-aaaaaaaaaaaaaaaa@{DOMAIN}"
    post(client, parsed_email("STOP", to=forged))
    assert not consent(db, lead.lead_id)[Channel.EMAIL]  # Dana sent it
    assert consent(db, other.lead_id)[Channel.EMAIL]


def test_quoted_history_and_signature_are_stripped_before_reading(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    body = (
        "What does the screening involve?\n\nThanks,\nDana\n\nSent from my iPhone" + QUOTED_INVITE
    )
    response = post(client, parsed_email(body))
    assert response.json()["intent"] == "other"  # not BOOK or STOP from the quoted invite
    [message] = inbound(db)
    assert message.body == "What does the screening involve?"
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_an_email_question_is_answered_by_a_queued_email_not_synchronously(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult
) -> None:
    post(client, parsed_email("yes please" + QUOTED_INVITE))
    [queued] = replies(db)
    assert (queued.kind, queued.channel, queued.status) == (
        MessageKind.TRANSACTIONAL,
        "email",
        MessageStatus.HELD,
    )
    harness = Harness(db, clock, settings)
    harness.dispatch()
    sent = [
        m
        for m in harness.email.sent
        if isinstance(m, OutboundEmail) and m.subject.startswith("Re:")
    ]
    assert len(sent) == 1
    assert sent[0].to == "dana@example.com"
    assert sent[0].subject == "Re: your free screening is waiting"
    assert "1) Tue Nov 3, 9:00 AM CST" in sent[0].text
    assert "<p>Open times for your free screening:" in sent[0].html


def test_booking_by_email_reply_leaves_the_details_to_the_booking_confirmation(
    client: TestClient, db: Database, clock: ManualClock, lead: CaptureResult
) -> None:
    post(client, parsed_email("BOOK"))
    clock.advance(timedelta(minutes=5))
    response = post(client, parsed_email("2"))
    assert response.json()["intent"] == "slot_choice"
    assert len(replies(db)) == 1  # the offer; the booking sends its own confirmation
    with db.factory() as session:
        kinds = session.scalars(select(Message.step_key).where(Message.kind == "transactional"))
        assert "booking-confirmation" in set(kinds)


def test_an_email_stop_skips_pending_campaign_emails_and_confirms_once(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult
) -> None:
    Harness(db, clock, settings).dispatch(deliver=False)
    post(client, parsed_email("Please unsubscribe me"))
    post(client, parsed_email("unsubscribe"))
    with db.factory() as session:
        welcome = session.scalars(
            select(Message).where(Message.step_key == "welcome-article")
        ).one()
    assert (welcome.status, welcome.reason) == (
        MessageStatus.SKIPPED,
        "email consent revoked by reply",
    )
    [confirmation] = replies(db)
    assert confirmation.content is not None
    assert "no more emails" in confirmation.content["text"]


def test_a_repeated_message_id_changes_nothing(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    fields = parsed_email("what is this?", message_id="<same@mail.example.com>")
    first = post(client, fields)
    second = post(client, fields)
    assert first.json()["duplicate"] is False
    assert second.status_code == 200 and second.json() == {"duplicate": True, "intent": None}
    assert len(inbound(db)) == 1
    assert len(replies(db)) == 1


def test_an_unknown_sender_goes_to_the_staff_inbox_without_an_answer(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    post(client, parsed_email("Do you take my insurance?", sender="stranger@example.org"))
    [message] = inbound(db)
    assert (message.lead_id, message.sender) == (None, "stranger@example.org")
    assert message.inbox_item_id is not None
    assert replies(db) == []


def test_a_post_without_a_sender_is_a_clear_error(client: TestClient, db: Database) -> None:
    response = post(client, parsed_email("hi", sender="not an address"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "from"
    assert inbound(db) == []


def test_a_latin1_email_is_read_in_its_own_charset(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    fields = parsed_email("x")
    fields["charsets"] = fields["charsets"].replace('"text":"UTF-8"', '"text":"iso-8859-1"')
    body = "Ça coûte combien ?".encode("latin-1")
    files: dict[str, tuple[None, bytes | str]] = {k: (None, v) for k, v in fields.items()}
    files["text"] = (None, body)
    response = client.post(PATH, files=files, headers=basic())
    assert response.status_code == 200
    assert inbound(db)[0].body == "Ça coûte combien ?"
