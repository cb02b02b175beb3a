"""Endpoints, leads and passes of the sender, for the outbound webhook tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings, get_settings
from nurture.consent.ledger import Evidence
from nurture.consent.opt_out import OptOut, opt_out
from nurture.leads.capture import record_download
from nurture.leads.submission import LeadSubmission
from nurture.webhooks_out.endpoints import ALL_EVENTS, add_endpoint
from nurture.webhooks_out.models import WebhookDelivery
from nurture.webhooks_out.sender import RetryPolicy, SendReport, send_due
from tests.factories import ARTICLE
from tests.support import Database

# Short and few, so a test walks the whole schedule: waits of 30 s, then 60 s, then give up.
POLICY = RetryPolicy(
    max_attempts=3, base=timedelta(seconds=30), cap=timedelta(minutes=5), timeout=2.0
)


def app_secret() -> str:
    """The test settings' NURTURE_SECRET_KEY, which seals endpoint secrets."""
    return get_settings().secret_key


def endpoint(
    db: Database, clock: ManualClock, url: str, events: Iterable[str] = ALL_EVENTS
) -> tuple[int, str]:
    """A new endpoint's id and secret."""
    with db.factory.begin() as session:
        added, secret = add_endpoint(session, url, events, clock.now(), app_secret=app_secret())
        return added.id, secret


def download(db: Database, clock: ManualClock, settings: Settings, name: str) -> int:
    """A prospect downloads the article through the form's own service; returns the lead id."""
    submission = LeadSubmission(
        article=ARTICLE,
        first_name=name.capitalize(),
        email=f"{name}@example.com",
        phone="+12175550199",
        timezone="America/Chicago",
        consent={"email": True, "sms": True},
    )
    with db.factory() as session:
        evidence = Evidence("form", "127.0.0.1", "pytest")
        return record_download(session, submission, evidence, clock.now(), settings).lead_id


def stop_email(db: Database, clock: ManualClock, lead_id: int) -> None:
    """The lead unsubscribes from email (the preferences page's opt-out)."""
    with db.factory.begin() as session:
        opt_out(session, [lead_id], OptOut(Channel.EMAIL, Evidence("test")), clock.now())


def send(db: Database, clock: ManualClock, policy: RetryPolicy = POLICY) -> SendReport:
    """One pass of the sender, as the beat task runs it."""
    return send_due(db.factory, clock, policy, app_secret=app_secret())


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.factory() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
