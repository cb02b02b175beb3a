"""Twilio's webhooks, signed with the real twilio SDK: texts in, TwiML answers out."""

from __future__ import annotations

import itertools
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent, suppression_reason
from nurture.consent.models import ConsentEvent
from nurture.leads.capture import CaptureResult
from nurture.messages.models import Message, MessageStatus
from nurture.replies.models import InboundMessage, InboxItem
from tests.factories import capture
from tests.support import Database

TOKEN = "twilio-test-auth-token"
PHONE = "+12175550199"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
_sids = itertools.count(1)


@pytest.fixture
def app(app: FastAPI, settings: Settings) -> FastAPI:
    app.state.settings = settings.model_copy(update={"twilio_auth_token": TOKEN})
    return app


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    return capture(db.factory, clock, settings, phone=PHONE)


def sign(path: str, params: dict[str, str], token: str = TOKEN) -> str:
    """What Twilio puts in X-Twilio-Signature, for the public URL it was given."""
    return RequestValidator(token).compute_signature(f"https://care.example.test{path}", params)


def inbound(body: str, sender: str = PHONE, sid: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+12175550142",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def post(client: TestClient, path: str, params: dict[str, str], signature: str | None = "") -> Any:
    headers = {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature or sign(path, params)
    return client.post(path, data=params, headers=headers)


def said(response: Any) -> list[str]:
    """The texts a TwiML response sends back."""
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.text)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


def count(db: Database, model: type) -> int:
    with db.factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_signed_text_is_answered_in_twiml(client: TestClient, lead: CaptureResult) -> None:
    answer = said(post(client, SMS_PATH, inbound("BOOK")))
    assert len(answer) == 1
    assert answer[0].startswith("Open times for your free screening:")
    # Each option on its own line, as it shows on a phone.
    assert answer[0].splitlines()[1].startswith("1) ")


@pytest.mark.parametrize(
    "signature",
    [None, "not-a-signature", sign(SMS_PATH, inbound("STOP", sid="SMother"), "another-token")],
    ids=["missing", "garbage", "wrong-token"],
)
def test_a_forged_text_is_refused_and_changes_nothing(
    client: TestClient, db: Database, lead: CaptureResult, signature: str | None
) -> None:
    response = post(client, SMS_PATH, inbound("STOP"), signature)
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0
    with db.factory() as session:
        assert current_consent(session, lead.lead_id)[Channel.SMS]


def test_a_signature_for_other_parameters_is_refused(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    params = inbound("hello")
    signature = sign(SMS_PATH, params)
    response = post(client, SMS_PATH, {**params, "Body": "STOP"}, signature)
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0


def test_without_an_auth_token_every_text_is_refused(
    app: FastAPI, client: TestClient, db: Database, settings: Settings, lead: CaptureResult
) -> None:
    app.state.settings = settings  # TWILIO_AUTH_TOKEN not set
    params = inbound("STOP")
    response = post(client, SMS_PATH, params, sign(SMS_PATH, params, ""))
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(
    client: TestClient, lead: CaptureResult
) -> None:
    # The TestClient calls http://testserver; Twilio signed https://care.example.test.
    params = inbound("HELP")
    assert said(post(client, SMS_PATH, params, sign(SMS_PATH, params)))
    local = RequestValidator(TOKEN).compute_signature(f"http://testserver{SMS_PATH}", params)
    assert post(client, SMS_PATH, inbound("HELP"), local).status_code == 403


def test_a_retried_text_gets_an_empty_answer_and_changes_nothing(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    params = inbound("STOP")
    first = said(post(client, SMS_PATH, params))
    retry = said(post(client, SMS_PATH, params))
    assert len(first) == 1 and retry == []
    assert count(db, InboundMessage) == 1
    with db.factory() as session:
        revocations = session.scalars(
            select(ConsentEvent.source).where(ConsentEvent.action == "revoked")
        ).all()
    assert revocations == ["sms:STOP"]


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop. ", "UNSUBSCRIBE", "quit!", "OPT OUT"])
def test_stop_by_text_revokes_consent_at_once(
    client: TestClient, db: Database, lead: CaptureResult, word: str
) -> None:
    [answer] = said(post(client, SMS_PATH, inbound(word)))
    assert "no more texts" in answer
    with db.factory() as session:
        assert not current_consent(session, lead.lead_id)[Channel.SMS]


def test_advanced_opt_out_stop_is_honoured_without_a_second_confirmation(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    assert said(post(client, SMS_PATH, inbound("STOP", OptOutType="STOP"))) == []
    with db.factory() as session:
        assert not current_consent(session, lead.lead_id)[Channel.SMS]


@pytest.mark.parametrize(
    "body", ["", "   ", "\n", "😀😀😀", "🙂" * 2000, "x" * 5000], ids=str.__len__
)
def test_empty_emoji_and_oversized_texts_are_handled(
    client: TestClient, db: Database, lead: CaptureResult, body: str
) -> None:
    answer = said(post(client, SMS_PATH, inbound(body)))
    assert answer == ["Thanks, a member of our team will reply soon."]
    with db.factory() as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert len(stored.body) <= 1600
    assert stored.truncated is (len(body) > 1600)


def test_a_text_without_a_sid_is_a_clear_error(client: TestClient, db: Database) -> None:
    params = inbound("hi")
    del params["MessageSid"]
    response = post(client, SMS_PATH, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "MessageSid"
    assert count(db, InboundMessage) == 0


def test_an_unknown_sender_is_recorded_for_staff_and_gets_a_generic_line(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    [answer] = said(post(client, SMS_PATH, inbound("who is this?", sender="+13125550100")))
    assert answer.startswith("Thanks for your message.")
    with db.factory() as session:
        item = session.scalars(select(InboxItem)).one()
        message = session.scalars(select(InboundMessage)).one()
    assert (item.lead_id, message.sender, message.inbox_item_id) == (None, "+13125550100", item.id)


def test_the_booking_conversation_runs_over_the_webhook(
    client: TestClient, db: Database, lead: CaptureResult
) -> None:
    said(post(client, SMS_PATH, inbound("yes please")))
    [answer] = said(post(client, SMS_PATH, inbound("2")))
    assert "You're booked" in answer and "9:30 AM CST" in answer


# --- delivery reports --------------------------------------------------------------


@pytest.fixture
def sent_sms(db: Database, clock: ManualClock, lead: CaptureResult) -> int:
    with db.factory.begin() as session:
        message = Message(
            lead_id=lead.lead_id,
            step_key="sms-hello",
            channel="sms",
            status=MessageStatus.SENT,
            provider_id="SM" + "f" * 32,
            due_at=clock.now(),
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(message)
        session.flush()
        return message.id


def status_report(status: str, code: str = "") -> dict[str, str]:
    params = {
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": status,
        "To": PHONE,
        "From": "+12175550142",
        "AccountSid": "AC" + "0" * 32,
    }
    return {**params, "ErrorCode": code} if code else params


def message_status(db: Database, message_id: int) -> str:
    with db.factory() as session:
        return session.get_one(Message, message_id).status


def test_status_reports_move_a_text_forward_only(
    client: TestClient, db: Database, sent_sms: int
) -> None:
    assert post(client, STATUS_PATH, status_report("delivered")).status_code == 204
    assert post(client, STATUS_PATH, status_report("sent")).status_code == 204
    assert message_status(db, sent_sms) == MessageStatus.DELIVERED


def test_a_forged_status_report_is_refused(client: TestClient, db: Database, sent_sms: int) -> None:
    response = post(client, STATUS_PATH, status_report("failed", "30006"), "forged")
    assert response.status_code == 403
    assert message_status(db, sent_sms) == MessageStatus.SENT
    with db.factory() as session:
        assert suppression_reason(session, Channel.SMS, PHONE) is None


def test_a_landline_report_fails_the_text_and_suppresses_the_number(
    client: TestClient, db: Database, sent_sms: int
) -> None:
    assert post(client, STATUS_PATH, status_report("undelivered", "30006")).status_code == 204
    assert post(client, STATUS_PATH, status_report("undelivered", "30006")).status_code == 204
    assert message_status(db, sent_sms) == MessageStatus.FAILED
    with db.factory() as session:
        reason = suppression_reason(session, Channel.SMS, PHONE)
    assert reason is not None and "landline" in reason
