"""A signing key like SendGrid's, the webhook route on a tiny app, and a lead with mail sent."""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette warns once on import when it finds httpx rather than httpx2 (see tests/web).
    warnings.filterwarnings("ignore", "Using `httpx`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.deliverability.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from nurture.messages.deliver import Delivery
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.web import webhooks_sendgrid
from nurture.web.deps import get_session_factory
from tests.factories import capture
from tests.fakes import RecordingChannel
from tests.support import Database

ADDRESS = "dana@example.com"


@dataclass(frozen=True)
class Signer:
    """Signs posts the way SendGrid does: ECDSA P-256, SHA-256, over timestamp + body."""

    key: ec.EllipticCurvePrivateKey

    @property
    def public_key_b64(self) -> str:
        der = self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, at: datetime) -> dict[str, str]:
        timestamp = str(int(at.timestamp()))
        signature = self.key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: timestamp,
            "Content-Type": "application/json",
        }


def new_signer() -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="session")
def signer() -> Signer:
    return new_signer()


def sendgrid_event(kind: str, ref: str | None, at: datetime, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid posts it, carrying our custom arg `message_ref`."""
    event: dict[str, Any] = {
        "email": ADDRESS,
        "timestamp": int(at.timestamp()),
        "event": kind,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"sg-{uuid.uuid4().hex[:12]}.filter0001",
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        **fields,
    }
    if ref is not None:
        event["message_ref"] = ref
    return event


@dataclass
class Webhook:
    """Posts event batches to the real route, signed unless told otherwise."""

    client: TestClient
    signer: Signer
    clock: ManualClock

    def post(
        self, events: list[dict[str, Any]] | bytes, *, headers: dict[str, str] | None = None
    ) -> Any:
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        sent = self.signer.headers(body, self.clock.now()) if headers is None else headers
        return self.client.post("/webhooks/sendgrid/events", content=body, headers=sent)


def webhook_app(db: Database, clock: ManualClock, settings: Settings) -> FastAPI:
    """Only the webhook router, with the test's database, clock and settings."""
    app = FastAPI()
    app.state.settings = settings
    app.state.clock = clock
    app.include_router(webhooks_sendgrid.router)
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    # Signatures are checked against real time in production; here the manual clock is "real".
    app.dependency_overrides[webhooks_sendgrid.wall_clock] = clock.now
    return app


@pytest.fixture
def webhook_settings(settings: Settings, signer: Signer) -> Settings:
    return settings.model_copy(update={"sendgrid_webhook_public_key": signer.public_key_b64})


@contextmanager
def open_webhook(
    db: Database, clock: ManualClock, settings: Settings, signer: Signer
) -> Iterator[Webhook]:
    """A client for the route configured with `settings`."""
    with TestClient(webhook_app(db, clock, settings)) as client:
        yield Webhook(client, signer, clock)


@pytest.fixture
def webhook(
    db: Database, clock: ManualClock, webhook_settings: Settings, signer: Signer
) -> Iterator[Webhook]:
    with open_webhook(db, clock, webhook_settings, signer) as webhook:
        yield webhook


@dataclass
class Sequence:
    """Dispatch and delivery driven by hand, through channels that record what they got."""

    db: Database
    clock: ManualClock
    settings: Settings
    email: RecordingChannel = field(default_factory=RecordingChannel)
    sms: RecordingChannel = field(default_factory=RecordingChannel)

    def run(self, until: datetime, step: timedelta = timedelta(minutes=30)) -> None:
        """Run beat and workers every `step` until the clock reads `until`."""
        delivery = Delivery(self.db.factory, self.clock, self.settings, self.email, self.sms)
        policy = SendingPolicy.from_settings(self.settings)
        while True:
            ids: list[int] = []
            dispatch_due(
                self.db.factory,
                self.clock.now(),
                ids.extend,
                batch_size=100,
                clinic_zone=self.settings.clinic_zone,
                policy=policy,
            )
            delivery.deliver_batch(ids)
            if self.clock.now() >= until:
                return
            self.clock.set(min(until, self.clock.now() + step))

    def messages(self) -> dict[str, Message]:
        with self.db.factory() as session:
            return {m.step_key: m for m in session.scalars(select(Message).order_by(Message.id))}


@pytest.fixture
def sequence(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> Sequence:
    return Sequence(db, clock, settings)


@dataclass(frozen=True)
class SentEmail:
    ref: str
    message_id: int
    lead_id: int


@pytest.fixture
def welcome(sequence: Sequence) -> SentEmail:
    """Dana's welcome email, handed to the provider (status sent)."""
    lead = capture(sequence.db.factory, sequence.clock, sequence.settings, email=ADDRESS)
    sequence.run(until=sequence.clock.now())
    message = sequence.messages()["welcome-article"]
    assert message.status == "sent"
    return SentEmail(message.ref, message.id, lead.lead_id)
