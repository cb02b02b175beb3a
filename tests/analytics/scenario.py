"""A small campaign history driven through the real services, with its known results.

Eight leads in the seeded campaign; what each does (times from START, Monday 2 Nov
2026, 09:00 in Chicago):
  ann  welcome email delivered, opened and clicked (its short link, which SendGrid's
       click tracking wrapped: one click, two reports); books on day 1
  bo   welcome email delivered and opened twice; replies by email on day 1
  cy   welcome email delivered; unsubscribes through SendGrid
  di   welcome email bounces (hard)
  eve  (has a phone) welcome delivered; sms-hello; replies by email at 4h; books on day 1.5
  fay  welcome delivered; on day 2 why-stretching-alone delivered and opened
  hal  (has a phone) welcome and sms-hello sent; texts STOP at 5h
  gus  enrolled on day 3 (Thursday 5 Nov); welcome delivered
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.service import book_screening
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.deliverability.apply import apply_events
from nurture.deliverability.events import ProviderEventIn
from nurture.leads.models import Lead
from nurture.messages.deliver import Delivery
from nurture.messages.models import Message
from nurture.messages.short_links import ShortLink, follow
from nurture.replies.email_inbound import InboundEmail, receive_email
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment
from tests.factories import capture
from tests.fakes import RecordingChannel

EVE_PHONE = "+12175550142"
HAL_PHONE = "+12175550143"

# The expected numbers, as every surface shows them.
FUNNEL_ALL = {
    "Enrolled": 8,
    "Emailed": 8,
    "Opened": 3,
    "Clicked": 1,
    "Replied": 2,
    "Booked": 2,
}
# step -> (sent, delivered, opened, clicked, replies, unsubscribes, bounces, bookings)
STEPS_ALL = {
    "welcome-article": (8, 6, 2, 1, 2, 1, 1, 1),
    "sms-hello": (2, 0, 0, 0, 0, 1, 0, 1),
    "why-stretching-alone": (2, 1, 1, 0, 0, 0, 0, 0),
}
RATES_ALL = {"welcome-article": ("33.3%", "16.7%"), "why-stretching-alone": ("100.0%", "0.0%")}
# Only gus enrolled on or after Thursday 5 November (in the clinic's zone).
FUNNEL_FROM_THURSDAY = {
    "Enrolled": 1,
    "Emailed": 1,
    "Opened": 0,
    "Clicked": 0,
    "Replied": 0,
    "Booked": 0,
}

_ids = itertools.count(1)


class Story:
    """Dispatch and deliver at each due moment, the way beat and the workers would."""

    def __init__(
        self, factory: sessionmaker[Session], clock: ManualClock, settings: Settings
    ) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.delivery = Delivery(factory, clock, settings, RecordingChannel(), RecordingChannel())
        self.start = clock.now()

    def until(self, offset: timedelta) -> None:
        """Run the workers up to START + offset, then stop the clock there."""
        end = self.start + offset
        while (due := self._next_due()) is not None and due <= end:
            self.clock.set(max(due, self.clock.now()))
            ids: list[int] = []
            dispatch_due(
                self.factory,
                self.clock.now(),
                ids.extend,
                batch_size=100,
                clinic_zone=self.settings.clinic_zone,
                policy=SendingPolicy.from_settings(self.settings),
            )
            self.delivery.deliver_batch(ids)
        self.clock.set(end)

    def _next_due(self) -> datetime | None:
        with self.factory() as session:
            times = [
                session.scalar(
                    select(func.min(Enrollment.next_due_at)).where(Enrollment.status == "active")
                ),
                session.scalar(select(func.min(Message.due_at)).where(Message.status == "queued")),
                session.scalar(select(func.min(Message.due_at)).where(Message.status == "held")),
            ]
        return min((t for t in times if t is not None), default=None)

    def lead(self, name: str, phone: str | None = None) -> int:
        result = capture(
            self.factory,
            self.clock,
            self.settings,
            email=f"{name}@example.com",
            first_name=name.title(),
            phone=phone,
        )
        return result.lead_id

    def events(self, name: str, step: str, *kinds: str) -> None:
        """SendGrid reports `kinds` (delivered, open, bounce, ...) for the lead's step email."""
        with self.factory.begin() as session:
            ref = session.scalars(
                select(Message.ref)
                .join(Lead, Lead.id == Message.lead_id)
                .where(Lead.email == f"{name}@example.com", Message.step_key == step)
            ).one()
            events = [
                ProviderEventIn(
                    index=index,
                    event_id=f"sg-{next(_ids)}",
                    kind=kind,
                    message_ref=ref,
                    email=f"{name}@example.com",
                    occurred_at=self.clock.now(),
                    hard_bounce=True,
                    status="5.1.1" if kind == "bounce" else None,
                    reason=None,
                )
                for index, kind in enumerate(kinds)
            ]
            apply_events(session, events, self.clock.now(), self.settings)

    def click(self, name: str, step: str) -> None:
        """The lead follows the article link in their step message (a person, not a preview)."""
        with self.factory.begin() as session:
            code = session.scalars(
                select(ShortLink.code)
                .join(Message, Message.id == ShortLink.message_id)
                .join(Lead, Lead.id == Message.lead_id)
                .where(
                    Lead.email == f"{name}@example.com",
                    Message.step_key == step,
                    ShortLink.name == "article",
                )
            ).one()
            follow(session, self.settings, code, self.clock.now(), count=True)

    def email_reply(self, name: str, text: str) -> None:
        email = InboundEmail(
            f"<reply-{next(_ids)}@example.com>",
            f"{name}@example.com",
            ("hello@riverside-pt.example",),
            "Re: your guide",
            text,
        )
        with self.factory.begin() as session:
            receive_email(session, self.settings, email, self.clock.now())

    def text(self, phone: str, body: str) -> None:
        sms = InboundSms(f"SM{next(_ids):032d}", phone, body)
        with self.factory.begin() as session:
            receive_sms(session, self.settings, sms, self.clock.now())

    def book(self, lead_id: int) -> None:
        with self.factory.begin() as session:
            book_screening(session, lead_id, source="test", now=self.clock.now())


def seed_results(factory: sessionmaker[Session], clock: ManualClock, settings: Settings) -> None:
    """The history in the module docstring; the campaign must already be synced."""
    story = Story(factory, clock, settings)
    ids = {name: story.lead(name) for name in ("ann", "bo", "cy", "di")}
    ids["eve"] = story.lead("eve", EVE_PHONE)
    ids["fay"] = story.lead("fay")
    ids["hal"] = story.lead("hal", HAL_PHONE)
    story.until(timedelta(hours=1))
    story.events("ann", "welcome-article", "delivered", "open", "click")
    story.click("ann", "welcome-article")
    story.events("bo", "welcome-article", "delivered", "open", "open")
    story.events("cy", "welcome-article", "delivered", "unsubscribe")
    story.events("di", "welcome-article", "bounce")
    story.events("eve", "welcome-article", "delivered")
    story.events("fay", "welcome-article", "delivered")
    story.until(timedelta(hours=4))  # sms-hello goes to eve and hal at 2h
    story.email_reply("eve", "Do you take my insurance?")
    story.until(timedelta(hours=5))
    story.text(HAL_PHONE, "STOP")
    story.until(timedelta(days=1))
    story.book(ids["ann"])
    story.email_reply("bo", "Thanks, this was helpful. Who wrote it?")
    story.until(timedelta(days=1, hours=12))
    story.book(ids["eve"])
    story.until(timedelta(days=2, hours=1))  # why-stretching-alone for fay and hal
    story.events("fay", "why-stretching-alone", "delivered", "open")
    story.until(timedelta(days=3))
    story.lead("gus")
    story.until(timedelta(days=3, hours=1))
    story.events("gus", "welcome-article", "delivered")
