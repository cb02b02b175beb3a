"""A captured lead and a way to text the clinic as that lead, through the real service."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.leads.capture import CaptureResult
from nurture.replies.sms_inbound import InboundSms, SmsOutcome, receive_sms
from tests.factories import capture
from tests.support import Database

PHONE = "+12175550199"
_sids = itertools.count(1)

Texter = Callable[..., SmsOutcome]


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    """Dana, enrolled, with email and SMS consent, in Chicago."""
    return capture(db.factory, clock, settings, phone=PHONE)


@pytest.fixture
def text(db: Database, clock: ManualClock, settings: Settings) -> Texter:
    """Send the clinic a text; returns what the service answered."""

    def send(
        body: str, *, sender: str = PHONE, sid: str | None = None, opt_out: str = ""
    ) -> SmsOutcome:
        message = InboundSms(sid or new_sid(), sender, body, opt_out)
        with db.factory.begin() as session:
            return receive_sms(session, settings, message, clock.now())

    return send


def rows(db: Database, model: type, *where: object) -> list:  # type: ignore[type-arg]
    with db.factory() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))  # type: ignore[attr-defined]
