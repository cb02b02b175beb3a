"""STOP, HELP and START by text: consent changes at once, one confirmation, no marketing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent, suppress, suppression_reason
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.leads.capture import CaptureResult
from nurture.messages.models import Message, MessageStatus
from nurture.replies.consent import CARRIER_STOP, SMS_STOP_REASON
from nurture.replies.intent import Intent
from nurture.replies.models import InboxItem
from tests.factories import capture
from tests.harness import Harness
from tests.replies.conftest import PHONE, Texter, rows
from tests.support import Database

MARKETING_WORDS = ("screening", "book", "guide", "http")


def sms_consent(db: Database, lead_id: int) -> bool:
    with db.factory() as session:
        return current_consent(session, lead_id)[Channel.SMS]


def test_stop_revokes_sms_consent_and_skips_the_pending_text(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    harness = Harness(db, clock, settings)
    harness.dispatch()  # the welcome email goes
    clock.advance(timedelta(hours=2))
    harness.dispatch(deliver=False)  # the first text is written, not yet handed off
    assert harness.messages()["sms-hello"].status == MessageStatus.QUEUED

    outcome = text("STOP")

    assert outcome.intent is Intent.STOP
    assert not sms_consent(db, lead.lead_id)
    hello = harness.messages()["sms-hello"]
    assert (hello.status, hello.reason) == (MessageStatus.SKIPPED, SMS_STOP_REASON)
    revocation = rows(db, ConsentEvent, ConsentEvent.action == ConsentAction.REVOKED)
    assert [(e.channel, e.source) for e in revocation] == [("sms", "sms:STOP")]
    harness.delivery.deliver_batch([hello.id])
    assert harness.sms.sent == []


def test_a_lead_who_texts_parar_gets_no_more_texts(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    harness = Harness(db, clock, settings)
    harness.dispatch()
    outcome = text("PARAR")
    assert outcome.intent is Intent.STOP
    assert outcome.reply is not None
    assert not sms_consent(db, lead.lead_id)
    harness.run_for(timedelta(days=21), step=timedelta(hours=6))
    assert harness.sms.sent == []
    assert all(
        m.status != MessageStatus.SENT
        for m in harness.messages().values()
        if m.channel == Channel.SMS
    )


def test_stop_is_confirmed_once_without_marketing(lead: CaptureResult, text: Texter) -> None:
    first = text("Stop")
    second = text("STOP")
    assert first.reply is not None
    assert "no more texts" in first.reply
    assert not any(word in first.reply.lower() for word in MARKETING_WORDS)
    assert second.reply is None


def test_free_text_revocation_stops_texts_but_not_emails(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    outcome = text("please stop texting me")
    assert outcome.intent is Intent.STOP
    with db.factory() as session:
        assert current_consent(session, lead.lead_id) == {Channel.EMAIL: True, Channel.SMS: False}


def test_stop_covers_every_lead_sharing_the_number(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    partner = capture(db.factory, clock, settings, email="sam@example.com", phone=PHONE)
    text("UNSUBSCRIBE")
    assert not sms_consent(db, lead.lead_id)
    assert not sms_consent(db, partner.lead_id)


def test_help_names_the_clinic_frequency_rates_a_person_and_stop(
    settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    reply = text("HELP").reply
    assert reply is not None
    assert settings.clinic_name in reply
    assert "about 3 texts over 2 weeks" in reply
    assert "Msg & data rates may apply" in reply
    assert "(217) 555-0142" in reply
    assert "Reply STOP to opt out" in reply
    assert len(reply) <= 306  # two SMS segments at most


def test_start_after_stop_grants_consent_again_with_new_evidence(
    db: Database, lead: CaptureResult, text: Texter
) -> None:
    text("STOP")
    outcome = text("START")
    assert outcome.intent is Intent.START
    assert outcome.reply is not None and "subscribed again" in outcome.reply
    assert sms_consent(db, lead.lead_id)
    sms_events = rows(db, ConsentEvent, ConsentEvent.channel == Channel.SMS)
    assert [(e.action, e.source) for e in sms_events] == [
        ("granted", "test"),
        ("revoked", "sms:STOP"),
        ("granted", "sms:START"),
    ]
    assert sms_events[-1].wording_version == "sms-2026-11"


def test_start_lifts_a_carrier_stop_suppression(
    db: Database, clock: ManualClock, lead: CaptureResult, text: Texter
) -> None:
    text("STOP")
    with db.factory.begin() as session:
        suppress(session, Channel.SMS, PHONE, CARRIER_STOP, clock.now())
    text("UNSTOP")
    with db.factory() as session:
        assert suppression_reason(session, Channel.SMS, PHONE) is None


def test_start_from_someone_who_never_agreed_to_texts_goes_to_staff(
    db: Database, clock: ManualClock, settings: Settings, campaign: int, text: Texter
) -> None:
    never = capture(db.factory, clock, settings, phone=PHONE, sms=False)
    outcome = text("START")
    assert outcome.intent is Intent.OTHER
    assert not sms_consent(db, never.lead_id)
    assert len(rows(db, InboxItem)) == 1


@pytest.mark.parametrize("keyword", ["STOP", "START", "HELP"])
def test_advanced_opt_out_keywords_are_acted_on_without_a_second_answer(
    db: Database, lead: CaptureResult, text: Texter, keyword: str
) -> None:
    outcome = text(keyword, opt_out=keyword)
    assert outcome.intent is Intent(keyword.lower())
    assert outcome.reply is None  # Twilio already answered
    assert sms_consent(db, lead.lead_id) is (keyword != "STOP")


def test_a_stop_leaves_pending_email_alone(
    db: Database, clock: ManualClock, settings: Settings, lead: CaptureResult, text: Texter
) -> None:
    Harness(db, clock, settings).dispatch(deliver=False)
    text("STOP")
    statuses = {m.channel: m.status for m in rows(db, Message)}
    assert statuses == {"email": MessageStatus.QUEUED}
