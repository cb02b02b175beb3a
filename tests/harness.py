"""Drive dispatch and delivery hour by hour, the way beat and the workers would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.messages.deliver import Delivery
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from tests.fakes import RecordingChannel
from tests.support import Database


class Harness:
    """One lead's sequence driven hour by hour through dispatch and delivery."""

    def __init__(self, db: Database, clock: ManualClock, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.email, self.sms = RecordingChannel(), RecordingChannel()
        self.delivery = Delivery(db.factory, clock, settings, self.email, self.sms)
        self.enqueued: list[int] = []

    def dispatch(self, *, deliver: bool = True) -> list[int]:
        ids: list[int] = []
        dispatch_due(
            self.db.factory,
            self.clock.now(),
            ids.extend,
            batch_size=100,
            clinic_zone=self.settings.clinic_zone,
            policy=SendingPolicy.from_settings(self.settings),
        )
        self.enqueued += ids
        if deliver:
            self.delivery.deliver_batch(ids)
        return ids

    def run_for(self, duration: timedelta, step: timedelta = timedelta(minutes=30)) -> None:
        end = self.clock.now() + duration
        while self.clock.now() <= end:
            self.dispatch()
            self.clock.advance(step)

    def messages(self) -> dict[str, Message]:
        with self.db.factory() as session:
            return {m.step_key: m for m in session.scalars(select(Message).order_by(Message.id))}
