"""A clinic a year in: 100,000 leads with consent, enrollments, message history, replies
waiting in the inbox and booked screenings, written with PostgreSQL COPY in seconds.

The shapes follow what the services write (see nurture.leads.capture, the dispatcher and
delivery), but the rows go in directly: going through the services would take an hour.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.seed import Campaign, sync_seeded_campaign
from nurture.clock import utcnow
from nurture.config import get_settings
from nurture.consent.models import Channel, ConsentAction
from nurture.consent.wording import WORDING
from nurture.leads.models import new_public_id
from nurture.messages.models import MessageStatus
from nurture.replies.models import InboxStatus
from nurture.sequences.models import EnrollmentStatus
from nurture.staff.service import Actor, create_user

FIRST_NAMES = ("Dana", "Priya", "Marcus", "Lena", "Tomás", "Aiko", "Sam", "Noor", "Eli", "Rosa")
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
SIGN_UP_DAYS = 365  # leads signed up over the past year
ENGAGED_SHARE = 0.2  # leads far enough in to have received the whole sequence
PHONE_SHARE = 0.6
OPTED_OUT_SHARE = 0.03
OPEN_QUESTIONS = 400
BOOKINGS = 250
ADMIN_EMAIL = "ada@riverside-pt.example"
ADMIN_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True, slots=True)
class SeededConsole:
    campaign_slug: str
    leads: int
    messages: int
    engaged_public_id: str  # a lead with a full message history, for the lead page
    inbox_item_id: int


def _copy(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _ids(conn: psycopg.Connection[Any], query: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        return list(cursor.execute(query))


def seed_console(engine: Engine, leads: int, rng: random.Random) -> SeededConsole:
    """Fill the (migrated, empty) database behind `engine`; commits as it goes."""
    campaign = sync_seeded_campaign(engine)
    now = utcnow()
    with Session(engine) as session, session.begin():
        create_user(session, ADMIN_EMAIL, "admin", ADMIN_PASSWORD, now, Actor("cli:bench"))
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        messages, engaged, item_id = _fill(conn, campaign, leads, now, rng)
        conn.commit()
    finally:
        raw.close()
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return SeededConsole(campaign.definition.spec.slug, leads, messages, engaged, item_id)


def _fill(
    conn: psycopg.Connection[Any], campaign: Campaign, count: int, now: datetime, rng: random.Random
) -> tuple[int, str, int]:
    """Write every row; returns how many messages, an engaged lead's public id and an
    inbox item's id."""
    clinic = get_settings().clinic_name
    signed_up = sorted(
        now - timedelta(seconds=rng.uniform(0, SIGN_UP_DAYS * 86400)) for _ in range(count)
    )
    phones = [rng.random() < PHONE_SHARE for _ in range(count)]
    public_ids = [new_public_id() for _ in range(count)]
    _copy(
        conn,
        "leads",
        ("public_id", "email", "first_name", "phone", "timezone", "source", "created_at"),
        (
            (
                public_ids[n],
                f"lead{n:06d}@bench.example",
                f"{FIRST_NAMES[n % len(FIRST_NAMES)]}",
                f"+1217{n:07d}" if phones[n] else None,
                ZONES[n % len(ZONES)],
                "article:tight-hamstrings-sciatic-nerve",
                signed_up[n],
            )
            for n in range(count)
        ),
    )
    lead_ids = [row[0] for row in _ids(conn, "SELECT id FROM leads ORDER BY id")]
    consent_columns = (
        "lead_id",
        "channel",
        "action",
        "wording_version",
        "wording",
        "source",
        "occurred_at",
    )
    email, sms = WORDING[Channel.EMAIL], WORDING[Channel.SMS]

    def consent_rows() -> Iterable[tuple[Any, ...]]:
        granted = ConsentAction.GRANTED.value
        for n, lead_id in enumerate(lead_ids):
            yield (
                lead_id,
                Channel.EMAIL.value,
                granted,
                email.version,
                email.text(clinic),
                "form",
                signed_up[n],
            )
            if phones[n]:
                yield (
                    lead_id,
                    Channel.SMS.value,
                    granted,
                    sms.version,
                    sms.text(clinic),
                    "form",
                    signed_up[n],
                )
            if rng.random() < OPTED_OUT_SHARE:
                later = signed_up[n] + timedelta(days=rng.uniform(1, 10))
                yield (
                    lead_id,
                    Channel.EMAIL.value,
                    ConsentAction.REVOKED.value,
                    None,
                    None,
                    "unsubscribe",
                    min(later, now),
                )

    _copy(conn, "consent_events", consent_columns, consent_rows())

    steps = campaign.definition.spec.steps
    # (key, channel, delay from sign-up), worked out once rather than per message.
    sequence = [(step.key, step.channel, step.offset) for step in steps]
    engaged = [rng.random() < ENGAGED_SHARE for _ in range(count)]

    def enrollment_rows() -> Iterable[tuple[Any, ...]]:
        for n, lead_id in enumerate(lead_ids):
            if engaged[n]:
                status, step, due = EnrollmentStatus.COMPLETED.value, None, None
            else:
                status, step = EnrollmentStatus.ACTIVE.value, steps[1].key
                due = now + timedelta(hours=rng.uniform(1, 72))
            ended = now if status == EnrollmentStatus.COMPLETED.value else None
            yield (
                lead_id,
                campaign.id,
                campaign.version_id,
                status,
                step,
                due,
                signed_up[n],
                ended,
            )

    _copy(
        conn,
        "enrollments",
        (
            "lead_id",
            "campaign_id",
            "campaign_version_id",
            "status",
            "next_step_key",
            "next_due_at",
            "enrolled_at",
            "ended_at",
        ),
        enrollment_rows(),
    )
    enrollments = _ids(conn, "SELECT id, lead_id FROM enrollments ORDER BY lead_id")
    index_of = {lead_id: n for n, lead_id in enumerate(lead_ids)}
    written = 0

    def message_rows() -> Iterable[tuple[Any, ...]]:
        nonlocal written
        for enrollment_id, lead_id in enrollments:
            n = index_of[lead_id]
            # Everyone has had the welcome email; the engaged fifth the whole sequence.
            for key, channel, offset in sequence if engaged[n] else sequence[:1]:
                if channel == "sms" and not phones[n]:
                    continue
                at = min(signed_up[n] + offset, now)
                opened = channel == "email" and rng.random() < 0.45
                clicked = opened and rng.random() < 0.3
                written += 1
                yield (
                    new_public_id(),
                    enrollment_id,
                    lead_id,
                    campaign.id,
                    key,
                    channel,
                    MessageStatus.DELIVERED.value,
                    at,
                    at,
                    at,
                    at,
                    1,
                    int(opened),
                    int(clicked),
                    at,
                    at,
                )

    _copy(
        conn,
        "messages",
        (
            "ref",
            "enrollment_id",
            "lead_id",
            "campaign_id",
            "step_key",
            "channel",
            "status",
            "due_at",
            "handed_off_at",
            "sent_at",
            "delivered_at",
            "attempts",
            "opens",
            "clicks",
            "created_at",
            "updated_at",
        ),
        message_rows(),
    )
    item_id = _questions_and_bookings(conn, lead_ids, phones, now, rng)
    return written, public_ids[engaged.index(True)], item_id


def _questions_and_bookings(
    conn: psycopg.Connection[Any],
    lead_ids: list[int],
    phones: list[bool],
    now: datetime,
    rng: random.Random,
) -> int:
    """Open questions in the inbox and screenings booked; returns an inbox item's id."""
    texting = [lead_id for n, lead_id in enumerate(lead_ids) if phones[n]]
    asking = rng.sample(texting, OPEN_QUESTIONS)
    asked_at = [now - timedelta(minutes=rng.uniform(1, 7 * 24 * 60)) for _ in asking]
    _copy(
        conn,
        "inbox_items",
        ("lead_id", "channel", "reason", "status", "opened_at", "last_message_at"),
        (
            (lead_id, "sms", "question", InboxStatus.OPEN.value, at, at)
            for lead_id, at in zip(asking, asked_at, strict=True)
        ),
    )
    items = _ids(conn, "SELECT id, lead_id, opened_at FROM inbox_items ORDER BY id")
    _copy(
        conn,
        "inbound_messages",
        (
            "provider",
            "provider_id",
            "channel",
            "lead_id",
            "sender",
            "body",
            "truncated",
            "intent",
            "inbox_item_id",
            "received_at",
        ),
        (
            (
                "twilio",
                f"SM{item_id:032d}",
                "sms",
                lead_id,
                "+12175550000",
                "Is this covered by my insurance?",
                False,
                "other",
                item_id,
                at,
            )
            for item_id, lead_id, at in items
        ),
    )
    # Fourteen half-hour screenings a day from tomorrow, one seat each, from 15:00 UTC.
    first_day = (now + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    starts = [first_day + timedelta(days=k // 14, minutes=30 * (k % 14)) for k in range(BOOKINGS)]
    _copy(conn, "booking_seats", ("starts_at", "seat", "taken_at"), ((at, 1, now) for at in starts))
    seats = _ids(conn, "SELECT id, starts_at FROM booking_seats ORDER BY starts_at")
    busy = set(asking)
    booking_leads = rng.sample([lead_id for lead_id in lead_ids if lead_id not in busy], BOOKINGS)
    _copy(
        conn,
        "bookings",
        ("lead_id", "status", "source", "starts_at", "ends_at", "seat_id", "created_at"),
        (
            (lead_id, "confirmed", "sms", at, at + timedelta(minutes=30), seat_id, now)
            for lead_id, (seat_id, at) in zip(booking_leads, seats, strict=True)
        ),
    )
    return int(items[0][0])
