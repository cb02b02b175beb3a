"""Each event is owed to the endpoints subscribed to it, written in the same transaction
as the change it reports: a change that rolls back announces nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from nurture.booking.service import book_slot, cancel_booking
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.webhooks_out.models import EventType, WebhookDelivery
from tests.booking.clinic import TUE_0900, set_availability
from tests.support import Database
from tests.webhooks_out.outbox import deliveries, download, endpoint, stop_email

CRM = "https://crm.example.test/hooks"


class Interrupted(Exception):
    """Something went wrong after the booking, in the same transaction."""


def test_a_booking_that_rolls_back_announces_nothing(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    endpoint(db, clock, CRM, [EventType.BOOKED])
    lead_id = download(db, clock, settings, "dana")
    with pytest.raises(Interrupted), db.factory.begin() as session:
        book_slot(session, settings, lead_id, TUE_0900, source="test", now=clock.now())
        owed = session.scalars(select(WebhookDelivery.event_type)).all()
        assert owed == [EventType.BOOKED]  # written, inside the booking's transaction
        raise Interrupted
    assert deliveries(db) == []


def test_booked_and_cancelled_tell_the_screening_times_to_every_subscribed_endpoint(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    crm, _ = endpoint(db, clock, CRM, [EventType.BOOKED, EventType.CANCELLED])
    ehr, _ = endpoint(db, clock, "https://ehr.example.test/in", [EventType.BOOKED])
    lead_id = download(db, clock, settings, "dana")
    with db.factory.begin() as session:
        booking = book_slot(session, settings, lead_id, TUE_0900, source="sms", now=clock.now())
        booking_id = booking.id
    with db.factory.begin() as session:
        cancel_booking(session, settings, booking_id, source="web", now=clock.now())

    found = [(d.endpoint_id, d.event_type, d.payload["booking"]) for d in deliveries(db)]
    booked = {
        "id": booking_id,
        "status": "confirmed",
        "starts_at": "2026-11-03T15:00:00Z",
        "ends_at": "2026-11-03T15:30:00Z",
        "source": "sms",
    }
    cancelled = {**booked, "status": "cancelled"}
    assert found == [
        (crm, EventType.BOOKED, booked),
        (ehr, EventType.BOOKED, booked),
        (crm, EventType.CANCELLED, cancelled),
    ]
    # One event, one id, whichever endpoint it goes to.
    assert deliveries(db)[0].event_id == deliveries(db)[1].event_id


def test_a_stop_text_is_announced_as_an_opt_out_then_as_the_reply_it_was(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    endpoint(db, clock, CRM, [EventType.OPTED_OUT, EventType.REPLIED])
    download(db, clock, settings, "dana")
    with db.factory.begin() as session:
        receive_sms(
            session, settings, InboundSms("SM" + "1" * 32, "+12175550199", "STOP"), clock.now()
        )

    found = [
        (d.event_type, d.payload.get("channel"), d.payload.get("intent")) for d in deliveries(db)
    ]
    assert found == [
        (EventType.OPTED_OUT, "sms", None),
        (EventType.REPLIED, "sms", "stop"),
    ]
    assert "STOP" not in str(deliveries(db)[1].payload)  # what the person wrote stays with staff


def test_an_endpoint_hears_only_the_events_it_chose_and_a_repeat_opt_out_is_not_news(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    endpoint(db, clock, CRM, [EventType.OPTED_OUT])
    lead_id = download(db, clock, settings, "dana")  # a capture: not chosen
    stop_email(db, clock, lead_id)
    stop_email(db, clock, lead_id)  # already opted out: nothing changed, nothing to say

    assert [(d.event_type, d.payload["channel"]) for d in deliveries(db)] == [
        (EventType.OPTED_OUT, "email")
    ]
