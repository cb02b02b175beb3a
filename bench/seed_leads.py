"""A clinic a year in: 100,000 leads who each went as far through the campaign as their
sign-up date, their replies and opt-outs allow, written with PostgreSQL COPY in seconds.

Every lead is enrolled at sign-up and gets one message row per step that has come due
(a step the gate refused is a skipped row with its reason, as the dispatcher writes it),
so a year of sign-ups gives close to ten messages a lead. In proportions a clinic
sees: about 40% of delivered emails are opened and a quarter of those clicked, a few
percent bounce (the address is then suppressed), some leads unsubscribe or text STOP,
some ask a question, and some book a screening, which ends their sequence. The
provider's delivered, open, click and bounce events are stored as the webhook would.

The shapes follow what the services write (see nurture.leads.capture, the dispatcher,
delivery and nurture.deliverability), but the rows go in directly with ids chosen
here: going through the services would take an hour.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.seed import Campaign, sync_seeded_campaign
from nurture.booking.models import BookingStatus, DeskStatus
from nurture.booking.service import EXIT_REASON
from nurture.channel import Channel
from nurture.clock import utcnow
from nurture.config import get_settings
from nurture.consent.models import ConsentAction
from nurture.consent.wording import WORDING
from nurture.leads.models import new_public_id
from nurture.messages.models import MessageStatus
from nurture.replies.intent import Intent
from nurture.replies.models import InboxStatus
from nurture.sequences.models import EnrollmentStatus
from nurture.staff.service import Actor, create_user

FIRST_NAMES = ("Dana", "Priya", "Marcus", "Lena", "Tomás", "Aiko", "Sam", "Noor", "Eli", "Rosa")
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
SIGN_UP_DAYS = 365  # leads signed up over the past year
PHONE_SHARE = 0.6
# What leads do, as shares of leads (STOP: of leads with a phone); each at a random
# moment within the two weeks the sequence lasts.
BOOK_SHARE = 0.04
UNSUBSCRIBE_SHARE = 0.03
STOP_SHARE = 0.04
QUESTION_SHARE = 0.05
SEQUENCE_DAYS = 15
# What the providers report, as shares of messages.
OPEN_SHARE = 0.4  # of delivered emails
CLICK_SHARE = 0.25  # of opened emails
BOUNCE_SHARE = 0.015  # of emails sent; the address is suppressed afterwards
SMS_FAILED_SHARE = 0.03
CANCEL_SHARE = 0.1  # of bookings
OPEN_QUESTION_DAYS = 7  # questions younger than this are still waiting in the inbox
ADMIN_EMAIL = "ada@riverside-pt.example"
ADMIN_PASSWORD = "correct horse battery staple"
SENDGRID, TWILIO = "sendgrid", "twilio"


@dataclass(frozen=True, slots=True)
class SeededConsole:
    campaign_slug: str
    leads: int
    messages: int
    engaged_public_id: str  # a lead with a full message history, for the lead page
    inbox_item_id: int


@dataclass(slots=True)
class Story:
    """One lead: when it signed up and when, if ever, it booked, opted out or asked."""

    id: int  # the lead's id, and its enrollment's
    public_id: str
    signed_up: datetime
    phone: bool
    booked_at: datetime | None = None
    booked_by: str = ""  # the channel the booking came through
    unsubscribed_at: datetime | None = None
    stopped_at: datetime | None = None  # texted STOP
    asked_at: datetime | None = None
    asked_by: str = ""
    steps_due: int = 0  # how many steps came due before now and before booking


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


def _sync_sequences(conn: psycopg.Connection[Any], tables: Sequence[str]) -> None:
    """Move each table's id sequence past the ids written here."""
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )


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
        stories = _stories(leads, now, rng)
        messages = _fill(conn, campaign, stories, now, rng)
        item_id = _questions_and_bookings(conn, stories, now, rng)
        conn.commit()
    finally:
        raw.close()
    # Production has autovacuum: the visibility map and statistics are up to date there.
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engaged = next(s for s in stories if s.steps_due == len(campaign.definition.spec.steps))
    return SeededConsole(campaign.definition.spec.slug, leads, messages, engaged.public_id, item_id)


def _stories(count: int, now: datetime, rng: random.Random) -> list[Story]:
    """Each lead's sign-up and what it did afterwards (nothing later than now)."""
    signed_up = sorted(
        now - timedelta(seconds=rng.uniform(0, SIGN_UP_DAYS * 86400)) for _ in range(count)
    )

    def later(start: datetime, share: float, earliest: timedelta) -> datetime | None:
        if rng.random() >= share:
            return None
        at = start + earliest + timedelta(seconds=rng.uniform(0, SEQUENCE_DAYS * 86400))
        return at if at <= now else None

    stories = []
    for n, at in enumerate(signed_up):
        story = Story(n + 1, new_public_id(), at, rng.random() < PHONE_SHARE)
        story.booked_at = later(at, BOOK_SHARE, timedelta(hours=1))
        story.booked_by = "sms" if story.phone and rng.random() < 0.6 else "email"
        story.unsubscribed_at = later(at, UNSUBSCRIBE_SHARE, timedelta(days=1))
        if story.phone:
            story.stopped_at = later(at, STOP_SHARE, timedelta(hours=2))
        story.asked_at = later(at, QUESTION_SHARE, timedelta(minutes=30))
        story.asked_by = "sms" if story.phone and rng.random() < 0.7 else "email"
        stories.append(story)
    return stories


def _fill(
    conn: psycopg.Connection[Any],
    campaign: Campaign,
    stories: list[Story],
    now: datetime,
    rng: random.Random,
) -> int:
    """Leads, consent, enrollments, messages and provider events; returns the messages."""
    clinic = get_settings().clinic_name
    _copy(
        conn,
        "leads",
        ("id", "public_id", "email", "first_name", "phone", "timezone", "source", "created_at"),
        (
            (
                s.id,
                s.public_id,
                f"lead{s.id:06d}@bench.example",
                FIRST_NAMES[s.id % len(FIRST_NAMES)],
                f"+1217{s.id:07d}" if s.phone else None,
                ZONES[s.id % len(ZONES)],
                "article:tight-hamstrings-sciatic-nerve",
                s.signed_up,
            )
            for s in stories
        ),
    )
    email, sms = WORDING[Channel.EMAIL], WORDING[Channel.SMS]
    granted, revoked = ConsentAction.GRANTED.value, ConsentAction.REVOKED.value

    def consent_rows() -> Iterator[tuple[Any, ...]]:
        for s in stories:
            yield (s.id, "email", granted, email.version, email.text(clinic), "form", s.signed_up)
            if s.phone:
                yield (s.id, "sms", granted, sms.version, sms.text(clinic), "form", s.signed_up)
            if s.unsubscribed_at:
                yield (s.id, "email", revoked, None, None, "unsubscribe", s.unsubscribed_at)
            if s.stopped_at:
                yield (s.id, "sms", revoked, None, None, "sms:stop", s.stopped_at)

    _copy(
        conn,
        "consent_events",
        ("lead_id", "channel", "action", "wording_version", "wording", "source", "occurred_at"),
        consent_rows(),
    )
    steps = campaign.definition.spec.steps
    for s in stories:
        s.steps_due = _steps_due(s, [step.offset for step in steps], now)
    _copy(conn, "enrollments", ENROLLMENT_COLUMNS, _enrollment_rows(campaign, stories))
    _copy(conn, "messages", MESSAGE_COLUMNS, _message_rows(campaign, stories, rng))
    with conn.cursor() as cursor:
        cursor.execute(PROVIDER_EVENTS)
    _sync_sequences(conn, ("leads", "enrollments", "messages"))
    return int(_ids(conn, "SELECT count(*) FROM messages")[0][0])


def _steps_due(s: Story, offsets: list[timedelta], now: datetime) -> int:
    """How many steps came due before now, and before the lead booked (which ends it)."""
    end = min(now, s.booked_at) if s.booked_at is not None else now
    return sum(1 for offset in offsets if s.signed_up + offset <= end)


MESSAGE_COLUMNS = (
    "id",
    "ref",
    "enrollment_id",
    "lead_id",
    "campaign_id",
    "step_key",
    "channel",
    "status",
    "reason",
    "due_at",
    "handed_off_at",
    "sent_at",
    "delivered_at",
    "attempts",
    "provider_id",
    "opens",
    "clicks",
    "created_at",
    "updated_at",
)
ENROLLMENT_COLUMNS = (
    "id",
    "lead_id",
    "campaign_id",
    "campaign_version_id",
    "status",
    "next_step_key",
    "next_due_at",
    "enrolled_at",
    "ended_at",
    "end_reason",
)
# The SendGrid events behind each email's status and counters, as the webhook stores them.
PROVIDER_EVENTS = """
INSERT INTO provider_events (provider, event_id, event_type, message_id, occurred_at, received_at)
SELECT 'sendgrid', concat('ev-', m.id, '-', e.kind, '-', e.k), e.kind, m.id, e.at, e.at
FROM messages m CROSS JOIN LATERAL (
    SELECT 'delivered', 0, m.delivered_at WHERE m.delivered_at IS NOT NULL
    UNION ALL SELECT 'bounce', 0, m.sent_at WHERE m.reason = 'bounce'
    UNION ALL SELECT 'open', k, m.sent_at + k * interval '1 hour' FROM generate_series(1, m.opens) k
    UNION ALL SELECT 'click', k, m.sent_at + (k + 1) * interval '1 hour'
        FROM generate_series(1, m.clicks) k
) AS e (kind, k, at)
WHERE m.channel = 'email'
"""


def _message_rows(
    campaign: Campaign, stories: list[Story], rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """One row per step that came due, as the dispatcher, the gate and delivery left it."""
    steps = [(step.key, step.channel.value, step.offset) for step in campaign.definition.spec.steps]
    message_id = 0
    for s in stories:
        bounced_at = None
        for key, channel, offset in steps[: s.steps_due]:
            at = s.signed_up + offset
            message_id += 1
            status, reason = _gate(s, channel, at, bounced_at)
            opens = clicks = 0
            sent = delivered = provider_id = None
            if status is None:
                sent, provider_id = at, f"{'SM' if channel == 'sms' else 'sg'}{message_id:030d}"
                if channel == "email" and rng.random() < BOUNCE_SHARE:
                    status, reason, bounced_at = MessageStatus.FAILED, "bounce", at
                elif channel == "sms" and rng.random() < SMS_FAILED_SHARE:
                    status, reason = MessageStatus.FAILED, "undelivered: carrier rejected"
                else:
                    status, delivered = MessageStatus.DELIVERED, at + timedelta(seconds=5)
                if channel == "email" and delivered is not None and rng.random() < OPEN_SHARE:
                    opens = rng.choice((1, 1, 1, 2, 3))
                    clicks = rng.choice((1, 1, 2)) if rng.random() < CLICK_SHARE else 0
            yield (
                message_id,
                new_public_id(),
                s.id,
                s.id,
                campaign.id,
                key,
                channel,
                status.value,
                reason,
                at,
                sent,
                sent,
                delivered,
                1 if sent else 0,
                provider_id,
                opens,
                clicks,
                at,
                delivered or at,
            )


def _gate(
    s: Story, channel: str, at: datetime, bounced_at: datetime | None
) -> tuple[MessageStatus | None, str | None]:
    """(skipped, why) as the gate would decide at `at`, or (None, None) to send."""
    skipped = MessageStatus.SKIPPED
    if channel == "sms":
        if not s.phone:
            return skipped, "no sms address on file"
        if s.stopped_at is not None and s.stopped_at <= at:
            return skipped, "no sms consent"
        return None, None
    if bounced_at is not None:
        return skipped, "email address suppressed: bounce"
    if s.unsubscribed_at is not None and s.unsubscribed_at <= at:
        return skipped, "no email consent"
    return None, None


def _enrollment_rows(campaign: Campaign, stories: list[Story]) -> Iterator[tuple[Any, ...]]:
    steps = campaign.definition.spec.steps
    for s in stories:
        # status, next step, when it is due, ended, why
        row: tuple[Any, ...]
        if s.booked_at is not None:
            row = (EnrollmentStatus.EXITED.value, None, None, s.booked_at, EXIT_REASON)
        elif s.steps_due == len(steps):
            row = (
                EnrollmentStatus.COMPLETED.value,
                None,
                None,
                s.signed_up + steps[-1].offset,
                None,
            )
        else:
            step = steps[s.steps_due]
            row = (EnrollmentStatus.ACTIVE.value, step.key, s.signed_up + step.offset, None, None)
        yield (s.id, s.id, campaign.id, campaign.version_id, *row[:3], s.signed_up, *row[3:])


def _questions_and_bookings(
    conn: psycopg.Connection[Any], stories: list[Story], now: datetime, rng: random.Random
) -> int:
    """Replies (questions, STOP and BOOK texts), the inbox and bookings; returns an open
    inbox item's id."""
    items: list[tuple[Any, ...]] = []
    inbound: list[tuple[Any, ...]] = []
    recent = now - timedelta(days=OPEN_QUESTION_DAYS)
    for s in stories:
        if s.asked_at is not None:
            item_id = len(items) + 1
            waiting = s.asked_at >= recent
            resolved = None if waiting else s.asked_at + timedelta(hours=rng.uniform(1, 48))
            items.append(
                (
                    item_id,
                    s.id,
                    s.asked_by,
                    "question",
                    (InboxStatus.OPEN if waiting else InboxStatus.RESOLVED).value,
                    s.asked_at,
                    s.asked_at,
                    resolved,
                    None if waiting else ADMIN_EMAIL,
                    None if waiting else "resume",
                )
            )
            inbound.append((s, s.asked_by, "Is this covered by my insurance?", "other", item_id))
        if s.stopped_at is not None:
            inbound.append((s, "sms", "STOP", Intent.STOP.value, None))
        if s.booked_at is not None and s.booked_by == "sms":
            inbound.append((s, "sms", "BOOK", Intent.BOOK.value, None))
    _copy(
        conn,
        "inbox_items",
        (
            "id",
            "lead_id",
            "channel",
            "reason",
            "status",
            "opened_at",
            "last_message_at",
            "resolved_at",
            "resolved_by",
            "resolution",
        ),
        items,
    )

    def inbound_rows() -> Iterator[tuple[Any, ...]]:
        for n, (s, channel, body, intent, item_id) in enumerate(inbound):
            at = {"other": s.asked_at, "stop": s.stopped_at, "book": s.booked_at}[intent]
            provider = TWILIO if channel == "sms" else SENDGRID
            sender = f"+1217{s.id:07d}" if channel == "sms" else f"lead{s.id:06d}@bench.example"
            yield (provider, f"in{n:032d}", channel, s.id, sender, body, False, intent, item_id, at)

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
        inbound_rows(),
    )
    _bookings(conn, stories, now, rng)
    _sync_sequences(conn, ("inbox_items", "inbound_messages"))
    return int(next(row[0] for row in items if row[4] == InboxStatus.OPEN.value))


def _bookings(
    conn: psycopg.Connection[Any], stories: list[Story], now: datetime, rng: random.Random
) -> None:
    """A screening per booking lead, one to ten days after booking, in a half-hour slot
    between 15:00 and 22:00 UTC; past ones attended or missed, a tenth cancelled."""
    taken: dict[datetime, int] = {}
    seats: list[tuple[Any, ...]] = []
    bookings: list[tuple[Any, ...]] = []
    for s in stories:
        if s.booked_at is None:
            continue
        day = (s.booked_at + timedelta(days=rng.randint(1, 10))).replace(
            hour=15, minute=0, second=0, microsecond=0
        )
        starts = day + timedelta(minutes=30 * rng.randrange(14))
        cancelled = rng.random() < CANCEL_SHARE
        seat_id = None
        if not cancelled:
            taken[starts] = taken.get(starts, 0) + 1
            seat_id = len(seats) + 1
            seats.append((seat_id, starts, taken[starts], s.booked_at))
        desk = DeskStatus.BOOKED
        if starts < now and not cancelled:
            desk = DeskStatus.ATTENDED if rng.random() < 0.8 else DeskStatus.NO_SHOW
        bookings.append(
            (
                s.id,
                (BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED).value,
                s.booked_by,
                starts,
                starts + timedelta(minutes=30),
                seat_id,
                s.booked_at + timedelta(hours=6) if cancelled else None,
                "sms" if cancelled else None,
                s.booked_at,
                desk.value,
            )
        )
    _copy(conn, "booking_seats", ("id", "starts_at", "seat", "taken_at"), seats)
    _copy(
        conn,
        "bookings",
        (
            "lead_id",
            "status",
            "source",
            "starts_at",
            "ends_at",
            "seat_id",
            "cancelled_at",
            "cancel_source",
            "created_at",
            "desk_status",
        ),
        bookings,
    )
    _sync_sequences(conn, ("booking_seats",))


def seeded_console(engine: Engine) -> SeededConsole:
    """What seed_console returned, read back from a database it filled earlier."""
    with engine.connect() as conn:
        slug, leads, messages, item_id = conn.execute(
            text(
                "SELECT (SELECT slug FROM campaigns ORDER BY id LIMIT 1),"
                " (SELECT count(*) FROM leads), (SELECT count(*) FROM messages),"
                " (SELECT min(id) FROM inbox_items WHERE status = 'open')"
            )
        ).one()
        engaged = conn.execute(
            text(
                "SELECT l.public_id FROM leads l JOIN enrollments e ON e.lead_id = l.id"
                " WHERE e.status = 'completed' ORDER BY l.id LIMIT 1"
            )
        ).scalar_one()
    return SeededConsole(slug, int(leads), int(messages), engaged, int(item_id))
