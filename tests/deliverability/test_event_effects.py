"""What each kind of SendGrid event does to the message, the address and the lead's consent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.consent.ledger import current_consent, suppression_reason
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message
from tests.deliverability.conftest import ADDRESS, SentEmail, Sequence, Webhook, sendgrid_event
from tests.support import Database


class Events:
    """Builds events for Dana's welcome email, each a little later than the one before."""

    def __init__(self, welcome: SentEmail, clock: ManualClock) -> None:
        self.ref, self.at = welcome.ref, clock.now()

    def __call__(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.at += timedelta(seconds=5)
        return sendgrid_event(kind, fields.pop("ref", self.ref), self.at, **fields)


@pytest.fixture
def events(welcome: SentEmail, clock: ManualClock) -> Events:
    return Events(welcome, clock)


def message(db: Database, welcome: SentEmail) -> Message:
    with db.factory() as session:
        return session.get_one(Message, welcome.message_id)


def suppressed(db: Database) -> str | None:
    with db.factory() as session:
        return suppression_reason(session, Channel.EMAIL, ADDRESS)


def consent_rows(db: Database, welcome: SentEmail) -> list[tuple[str, str, str]]:
    with db.factory() as session:
        rows = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.lead_id == welcome.lead_id, ConsentEvent.channel == Channel.EMAIL)
            .order_by(ConsentEvent.id)
        )
        return [(row.action, row.source, row.channel) for row in rows][1:]  # after the opt-in


def email_consent(db: Database, welcome: SentEmail) -> bool:
    with db.factory() as session:
        return current_consent(session, welcome.lead_id)[Channel.EMAIL]


def test_the_same_batch_posted_twice_changes_nothing_the_second_time(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    batch = [
        events("delivered"),
        events("open"),
        events("open"),
        events("click", url="https://care.example.test/book"),
        events("deferred", response="400 try again later", attempt="1"),
    ]
    first = webhook.post([*batch, batch[1]])  # SendGrid may repeat an event within a post too
    again = webhook.post(batch)
    # The click is kept but not counted: the email's own short link counts its clicks.
    assert (first.json()["applied"], first.json()["ignored"]) == (4, 1)
    assert first.json()["duplicates"] == 1
    assert again.json() == {
        "received": 5,
        "applied": 0,
        "duplicates": 5,
        "ignored": 0,
        "rejected": [],
    }
    stored = message(db, welcome)
    assert (stored.status, stored.opens, stored.clicks, stored.deferrals) == ("delivered", 2, 0, 1)
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(ProviderEvent)) == 5


def test_processed_is_recorded_and_leaves_the_email_sent(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    processed = events("processed")
    assert webhook.post([processed]).json()["applied"] == 1
    assert message(db, welcome).status == "sent"
    with db.factory() as session:
        stored = session.scalars(select(ProviderEvent)).one()
    assert (stored.event_id, stored.event_type, stored.message_id, stored.ignored) == (
        processed["sg_event_id"],
        "processed",
        welcome.message_id,
        None,
    )


def test_delivered_marks_the_email_delivered_at_the_reported_time(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    delivered = events("delivered", response="250 OK")
    webhook.post([delivered])
    stored = message(db, welcome)
    assert stored.status == "delivered"
    assert stored.delivered_at is not None
    assert int(stored.delivered_at.timestamp()) == delivered["timestamp"]


def test_deferral_is_counted_and_the_email_stays_sent(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("deferred", attempt="1"), events("deferred", attempt="2")])
    stored = message(db, welcome)
    assert (stored.status, stored.deferrals) == ("sent", 2)
    assert suppressed(db) is None


def test_hard_bounce_fails_the_email_and_suppresses_the_address(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("bounce", type="bounce", status="5.1.1", reason="550 no such user")])
    stored = message(db, welcome)
    assert (stored.status, stored.reason) == ("failed", "hard bounce (5.1.1)")
    assert suppressed(db) == "hard bounce"


def test_soft_bounces_suppress_the_address_only_at_the_limit(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    for _ in range(2):
        webhook.post([events("bounce", type="blocked", status="4.0.0")])
    assert suppressed(db) is None
    assert message(db, welcome).status == "failed"
    webhook.post([events("bounce", type="blocked", status="4.0.0")])
    assert suppressed(db) == "soft bounces: 3 in a row"


def test_a_delivery_between_soft_bounces_starts_the_count_again(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    blocked = [events("bounce", type="blocked") for _ in range(2)]
    webhook.post(
        [*blocked, events("delivered"), *(events("bounce", type="blocked") for _ in range(2))]
    )
    assert suppressed(db) is None
    webhook.post([events("bounce", type="blocked")])
    assert suppressed(db) == "soft bounces: 3 in a row"


def test_dropped_fails_the_email_and_suppresses_with_sendgrids_reason(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("dropped", reason="Bounced Address")])
    stored = message(db, welcome)
    assert (stored.status, stored.reason) == ("failed", "dropped: Bounced Address")
    assert suppressed(db) == "dropped: Bounced Address"


def test_drop_caused_by_our_content_fails_the_email_but_keeps_the_address(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("dropped", reason="Spam Content (if spam checker app enabled)")])
    assert message(db, welcome).status == "failed"
    assert suppressed(db) is None


def test_spam_complaint_suppresses_the_address_and_revokes_email_consent_only(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("spamreport")])
    assert suppressed(db) == "spam complaint"
    assert consent_rows(db, welcome) == [(ConsentAction.REVOKED, "spam complaint", "email")]
    with db.factory() as session:
        assert current_consent(session, welcome.lead_id) == {
            Channel.EMAIL: False,
            Channel.SMS: True,
        }


@pytest.mark.parametrize("kind", ["unsubscribe", "group_unsubscribe"])
def test_unsubscribe_on_sendgrid_revokes_email_consent_and_suppresses(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events, kind: str
) -> None:
    webhook.post([events(kind, asm_group_id=42)])
    assert not email_consent(db, welcome)
    assert consent_rows(db, welcome) == [(ConsentAction.REVOKED, "sendgrid unsubscribe", "email")]
    assert suppressed(db) == "unsubscribed via SendGrid"


def test_resubscribe_after_an_unsubscribe_restores_consent_and_lifts_the_suppression(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("group_unsubscribe", asm_group_id=42)])
    webhook.post([events("group_resubscribe", asm_group_id=42)])
    assert email_consent(db, welcome)
    assert consent_rows(db, welcome) == [
        (ConsentAction.REVOKED, "sendgrid unsubscribe", "email"),
        (ConsentAction.GRANTED, "sendgrid resubscribe", "email"),
    ]
    assert suppressed(db) is None


@pytest.mark.parametrize(
    ("first", "fields", "reason"),
    [
        ("bounce", {"type": "bounce"}, "hard bounce"),
        ("spamreport", {}, "spam complaint"),
        ("dropped", {"reason": "Spam Reporting Address"}, "dropped: Spam Reporting Address"),
    ],
)
def test_resubscribe_never_lifts_a_bounce_or_complaint_suppression(
    webhook: Webhook,
    db: Database,
    welcome: SentEmail,
    events: Events,
    first: str,
    fields: dict[str, str],
    reason: str,
) -> None:
    webhook.post([events(first, **fields), events("group_resubscribe", asm_group_id=42)])
    assert suppressed(db) == reason
    assert email_consent(db, welcome)  # the person's click is recorded, the block stays


def test_event_for_an_unknown_message_is_recorded_as_ignored(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    stray = [
        events("bounce", type="bounce", ref="0" * 32),
        events("spamreport", ref=None),
        events("machine_opened"),
    ]
    assert webhook.post(stray).json()["ignored"] == 3
    assert suppressed(db) is None
    assert message(db, welcome).status == "sent"
    with db.factory() as session:
        assert sorted(session.scalars(select(ProviderEvent.ignored))) == [
            "no message ref",
            "unhandled event type",
            "unknown message",
        ]


def test_delivered_after_a_bounce_leaves_the_email_failed(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("bounce", type="bounce")])
    webhook.post([events("delivered")])
    assert message(db, welcome).status == "failed"


def test_late_bounce_after_delivery_marks_the_email_failed(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    webhook.post([events("delivered")])
    webhook.post([events("bounce", type="bounce", status="5.7.1")])
    assert (message(db, welcome).status, suppressed(db)) == ("failed", "hard bounce")


def test_events_posted_out_of_order_apply_in_the_order_they_happened(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events
) -> None:
    delivered, bounced = events("delivered"), events("bounce", type="bounce")
    webhook.post([bounced, delivered])
    assert message(db, welcome).status == "failed"


def test_events_for_a_text_message_ref_change_nothing(
    webhook: Webhook, db: Database, welcome: SentEmail, events: Events, sequence: Sequence
) -> None:
    sequence.run(until=sequence.clock.now() + timedelta(hours=3))
    sms = sequence.messages()["sms-hello"]
    assert webhook.post([events("bounce", type="bounce", ref=sms.ref)]).json()["ignored"] == 1
    assert sequence.messages()["sms-hello"].status == "sent"
    assert suppressed(db) is None
