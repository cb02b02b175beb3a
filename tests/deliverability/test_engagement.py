"""Opens and clicks count per message; a step's engagement is the sum over its messages.

An email's links are our short links: a click counts when the link is followed, and
SendGrid's report of the same click (its click tracking wraps our links) is kept, not
counted again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.deliverability.engagement import engagement_by_step
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message
from nurture.messages.short_links import ShortLink, follow
from tests.deliverability.conftest import Sequence, Webhook, sendgrid_event
from tests.factories import capture


def welcome_refs(sequence: Sequence, emails: list[str]) -> list[str]:
    """The welcome email's ref for each address, in the order given."""
    lead_ids = [
        capture(sequence.db.factory, sequence.clock, sequence.settings, email=email).lead_id
        for email in emails
    ]
    sequence.run(until=sequence.clock.now())
    with sequence.db.factory() as session:
        refs = dict(
            session.execute(
                select(Message.lead_id, Message.ref).where(Message.step_key == "welcome-article")
            ).all()
        )
    return [refs[lead_id] for lead_id in lead_ids]


def test_opens_and_clicks_add_up_per_step_across_leads(
    webhook: Webhook, sequence: Sequence, campaign: int
) -> None:
    dana, kim, lee = welcome_refs(
        sequence, ["dana@example.com", "kim@example.com", "lee@example.com"]
    )
    at = sequence.clock.now() + timedelta(minutes=1)
    events = [
        *(sendgrid_event("delivered", ref, at) for ref in (dana, kim, lee)),
        sendgrid_event("open", dana, at),
        sendgrid_event("open", dana, at),
        sendgrid_event("click", dana, at, url="https://care.example.test/book"),
        sendgrid_event("open", kim, at),
        sendgrid_event("bounce", lee, at + timedelta(seconds=1), type="bounce"),
    ]
    report = webhook.post(events).json()
    assert (report["applied"], report["ignored"]) == (7, 1)
    with sequence.db.factory.begin() as session:
        # Dana's click arrives here too, through the short link SendGrid's wrapper opened.
        code = session.scalars(
            select(ShortLink.code)
            .join(Message, Message.id == ShortLink.message_id)
            .where(Message.ref == dana, ShortLink.name == "article")
        ).one()
        follow(session, sequence.settings, code, at, count=True)
    with sequence.db.factory() as session:
        engagement = engagement_by_step(session, campaign)
        ignored = session.scalars(
            select(ProviderEvent.ignored).where(ProviderEvent.event_type == "click")
        ).all()
    assert ignored == ["click counted by our short link"]
    assert list(engagement) == ["welcome-article"]  # email steps only, none later yet
    welcome = engagement["welcome-article"]
    assert (welcome.sent, welcome.delivered, welcome.failed) == (3, 2, 1)
    assert (welcome.opened, welcome.opens, welcome.clicked, welcome.clicks) == (2, 3, 1, 1)


def test_engagement_lists_email_steps_in_the_order_they_go_out(
    webhook: Webhook, sequence: Sequence, campaign: int
) -> None:
    capture(sequence.db.factory, sequence.clock, sequence.settings)
    sequence.run(until=sequence.clock.now() + timedelta(days=4, hours=1))
    with sequence.db.factory() as session:
        engagement = engagement_by_step(session, campaign)
    assert list(engagement) == ["welcome-article", "why-stretching-alone", "anatomy-link"]
    assert all(step.sent == 1 and step.opens == 0 for step in engagement.values())
