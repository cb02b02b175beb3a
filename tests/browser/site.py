"""The console as a browser meets it: the real app under uvicorn, on a seeded SQLite file.

Seeding goes through the real services (migrations, campaign sync, lead capture, dispatch
and the console channels, the SMS service, booking, staff accounts), so the pages show
what a clinic would see a few minutes after launch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.service import book_slot
from nurture.booking.slots import open_slots
from nurture.campaigns.definition import campaign_dirs, load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import SystemClock, utcnow
from nurture.config import Settings, get_settings
from nurture.consent.ledger import Evidence
from nurture.consent.policy import SendingPolicy
from nurture.db import make_engine
from nurture.leads.capture import capture_lead
from nurture.leads.models import Lead
from nurture.leads.submission import LeadSubmission
from nurture.messages.channels.factory import email_channel, sms_channel
from nurture.messages.deliver import Delivery
from nurture.migrate import upgrade
from nurture.replies.models import InboxItem
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.sequences.dispatch import dispatch_due
from nurture.staff.service import Actor, create_user
from tests.e2e.stack import Process, ProcessGroup, web_argv
from tests.factories import ARTICLE
from tests.helpers.net import free_port
from tests.support import REPO

PASSWORD = "correct horse battery staple"
ACCOUNTS = {
    "admin": "ada@riverside-pt.example",
    "marketing": "mara@riverside-pt.example",
    "frontdesk": "desk@riverside-pt.example",
}
# name, email, phone: one of them asks a question by text, another books a screening.
LEADS = (
    ("Dana", "dana@example.com", "+12175550199"),
    ("Priya", "priya@example.com", "+12175550188"),
    ("Marcus", "marcus@example.com", "+12175550177"),
    ("Lena", "lena@example.com", None),
)
QUESTION = "Is this covered by my insurance?"
STARTUP_SECONDS = 30


@dataclass(frozen=True, slots=True)
class ConsoleSite:
    """A running console: where it is, who can sign in, and the seeded leads' public ids."""

    base_url: str
    database_url: str  # for a test that checks what a page wrote
    data_dir: Path  # the console channels' sent emails and SMS log are under here
    leads: dict[str, str]  # first name -> public id
    asked: str  # first name of the lead with an open question in the inbox
    booked: str  # first name of the lead with a confirmed screening
    web: Process

    def url(self, path: str) -> str:
        """The absolute URL of a path on the site."""
        return self.base_url + path

    def sign_up(self, first_name: str, email: str, phone: str | None = None) -> str:
        """A new lead through the public JSON API (the site is shared: bring your own lead)."""
        body = {
            "article": ARTICLE,
            "first_name": first_name,
            "email": email,
            "phone": phone,
            "timezone": "America/Chicago",
            "consent": {"email": True, "sms": phone is not None},
        }
        response = httpx.post(self.url("/api/leads"), json=body, timeout=10)
        assert response.status_code == 201, response.text
        public_id = str(response.json()["lead_id"])
        self.leads[first_name] = public_id
        return public_id

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the site's database, to check what a page wrote."""
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


def site_env(root: Path, port: int) -> dict[str, str]:
    """The environment of the server (and of seeding): development mode, console channels."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SENDGRID_", "TWILIO_", "CLINIC_", "NURTURE_", "CELERY_"))
    }
    env.update(
        {
            "NURTURE_ENV": "development",
            "NURTURE_DATA_DIR": str(root / "var"),
            "DATABASE_URL": f"sqlite:///{root / 'console.db'}",
            "EMAIL_CHANNEL": "console",
            "SMS_CHANNEL": "console",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextmanager
def settings_from(env: Mapping[str, str]) -> Iterator[Settings]:
    """The Settings a process with `env` would read, without leaving `env` behind."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name not in env:
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield get_settings()
        finally:
            get_settings.cache_clear()


def seed(settings: Settings) -> tuple[dict[str, str], str, str]:
    """Campaigns, leads with their first messages sent, a question, a booking and staff.

    Returns the leads' public ids by first name, who asked and who booked.
    """
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    now = utcnow()
    try:
        with factory.begin() as session:
            for folder in campaign_dirs(settings.templates_dir):
                sync_campaign(session, load_campaign_dir(folder), now)
            for role, email in ACCOUNTS.items():
                name = email.split("@")[0].title()
                create_user(session, email, role, PASSWORD, now, Actor("cli:seed"), name=name)
        leads: dict[str, str] = {}
        for first_name, email, phone in LEADS:
            submission = LeadSubmission(
                article=ARTICLE,
                first_name=first_name,
                email=email,
                phone=phone,
                timezone="America/Chicago",
                consent={"email": True, "sms": phone is not None},
            )
            with factory.begin() as session:
                evidence = Evidence("form", "127.0.0.1", "browser-test seed")
                result = capture_lead(session, submission, evidence, now, settings)
                leads[first_name] = result.lead_public_id
        sent: list[int] = []
        policy = SendingPolicy.from_settings(settings)
        zone = settings.clinic_zone
        dispatch_due(factory, now, sent.extend, batch_size=100, clinic_zone=zone, policy=policy)
        delivery = Delivery(
            factory, SystemClock(), settings, email_channel(settings), sms_channel(settings)
        )
        delivery.deliver_batch(sent)
        asked, booked = LEADS[1], LEADS[2]
        with factory.begin() as session:
            receive_sms(session, settings, InboundSms("SM" + "1" * 32, asked[2], QUESTION), now)
            assert session.scalar(select(InboxItem.id)) is not None, "the question was not kept"
        with factory.begin() as session:
            [slot, *_] = open_slots(session, settings, now=now)
            lead_id = _lead_id(session, leads[booked[0]])
            book_slot(session, settings, lead_id, slot.starts_at, source="seed", now=now)
        return leads, asked[0], booked[0]
    finally:
        engine.dispose()


def _lead_id(session: Session, public_id: str) -> int:
    found = session.scalar(select(Lead.id).where(Lead.public_id == public_id))
    assert isinstance(found, int)
    return found


def start_site(root: Path, processes: ProcessGroup) -> ConsoleSite:
    """Seed a fresh database under `root` and serve the app on a free loopback port."""
    port = free_port()
    env = site_env(root, port)
    with settings_from(env) as settings:
        leads, asked, booked = seed(settings)
    web = processes.start("web", web_argv(port), env)
    web.wait_for_port(port, timeout=STARTUP_SECONDS)
    return ConsoleSite(
        f"http://127.0.0.1:{port}", env["DATABASE_URL"], root / "var", leads, asked, booked, web
    )
