"""A prospect books a free screening by replying to a text, end to end on real processes.

Web (uvicorn), Celery beat and a prefork Celery worker run as separate processes on a
database of their own and Redis, on an accelerated clock (one virtual hour every three
real seconds); the official SendGrid and Twilio SDKs send to the provider stub. The
prospect's texts reach the running web process as Twilio would send them: form posts to
/webhooks/twilio/sms signed with the account's auth token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.availability import WEEKDAYS, parse_availability, save_availability
from nurture.booking.display import when
from nurture.booking.models import Booking, BookingSeat
from nurture.booking.notices import CONFIRMATION
from nurture.booking.service import EXIT_REASON
from nurture.booking.slots import open_slots
from nurture.clock import Clock
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.replies.models import InboundMessage, SlotOffer
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.e2e.short_campaign import ShortCampaign
from tests.e2e.stack import (
    StartStack,
    lead_messages,
    post_inbound_text,
    provider_env,
    wait_until,
    zone_where_it_is_nine,
)
from tests.helpers.net import free_port
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

PHONE = "+12175550199"
EMAIL = "robin@example.com"
# A second lead who never replies: the whole sequence reaching them proves the stack
# kept sending past the booked lead's remaining due times.
CONTROL_PHONE = "+12175550188"
CONTROL_EMAIL = "casey@example.com"
SMS_PATH = "/webhooks/twilio/sms"
CLINIC_NUMBER = provider_env("")["TWILIO_FROM_NUMBER"]  # the number prospects text back
BOOK_SID = "SM" + "b00c" * 8
CHOICE_SID = "SM" + "0001" * 8
# Booking ends the sequence between the SMS hello (1 h) and the follow-up (4 h): the
# booking lands at 1.5-2 h, leaving two virtual hours (six real seconds) of slack.
STEPS_BEFORE_BOOKING = ["welcome", "sms-hello"]
STEPS_AFTER_BOOKING = ["follow-up", "sms-nudge", "invitation"]
# Hourly screenings around the clock, bookable at once: slots exist whatever the real
# time of day is when the test runs.
AVAILABILITY = {
    "screening_minutes": 60,
    "capacity": 1,
    "minimum_notice_hours": 0,
    "horizon_days": 21,
    "weekly_hours": {day: ["00:00-23:59"] for day in WEEKDAYS},
    "closed_dates": [],
}
# The first offered slot must still be ahead when "1" arrives: the BOOK is sent only
# when it starts at least this far ahead in virtual time (two real seconds here, for
# two webhook round trips that take ~0.1 s on an idle machine).
REPLY_MARGIN = timedelta(minutes=40)

CAMPAIGN = ShortCampaign(
    slug="e2e-book",
    name="End-to-end reply-to-book sequence",
    description="Five steps over six hours; the lead books by text after the second.",
    article="e2e-book-guide",
    article_title="A short guide for the reply-to-book test",
    article_summary="Five messages in six hours, unless you book.",
    delays=("0m", "1h", "4h", "5h", "6h"),
    sms_hello=(
        "{{ clinic.name }}: Hi {{ first_name }}, reply BOOK for a free screening. "
        "Reply STOP to opt out, HELP for help."
    ),
)


@pytest.fixture
def redis_db() -> int:
    return 10


@pytest.fixture
def short_campaign() -> ShortCampaign:
    return CAMPAIGN


def text_the_clinic(web_url: str, auth_token: str, body: str, sid: str) -> list[str]:
    """The prospect texts the clinic's number; the texts answered."""
    return post_inbound_text(
        web_url, auth_token, sender=PHONE, to=CLINIC_NUMBER, body=body, sid=sid
    )


def sent_steps(engine: Engine, public_id: str, kind: MessageKind) -> dict[str, list[str]]:
    """Step keys of the lead's messages of `kind` the provider accepted, by channel."""
    sent: dict[str, list[str]] = {}
    for row in lead_messages(engine, public_id):
        if row.kind == kind and row.status == MessageStatus.SENT:
            sent.setdefault(row.channel, []).append(row.step_key)
    return sent


def slack_before_first_slot(
    factory: sessionmaker[Session], settings: Settings, clock: Clock
) -> timedelta:
    """How far ahead (virtual time) the first slot a BOOK sent now would offer starts."""
    now = clock.now()
    with factory() as session:
        [slot] = open_slots(session, settings, now=now, limit=1)
    return slot.starts_at - now


def booking_snapshot(engine: Engine, lead_id: int) -> dict[str, object]:
    """What a repeated webhook must not change: bookings, seats, inbound texts, outbox rows."""
    with Session(engine) as session:
        return {
            "bookings": session.execute(
                select(Booking.id, Booking.status, Booking.starts_at, Booking.calendar_sequence)
                .where(Booking.lead_id == lead_id)
                .order_by(Booking.id)
            ).all(),
            "seats": session.execute(select(BookingSeat.id, BookingSeat.starts_at)).all(),
            "inbound": session.scalar(select(func.count()).select_from(InboundMessage)),
            "offers": session.execute(
                select(SlotOffer.id, SlotOffer.closed_at).order_by(SlotOffer.id)
            ).all(),
            "messages": session.execute(
                select(Message.id, Message.step_key, Message.channel)
                .where(Message.lead_id == lead_id)
                .order_by(Message.id)
            ).all(),
        }


# The whole story takes ~30 s; beyond this something hangs. pytest-timeout's signal
# method fails the test in place, so the process finalizer still runs and logs attach.
@pytest.mark.timeout(90)
def test_prospect_who_texts_book_and_picks_one_is_booked_and_gets_no_more_campaign_messages(
    engine: Engine, virtual_clock: Clock, start_stack: StartStack, settings: Settings
) -> None:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        save_availability(session, parse_availability(AVAILABILITY), virtual_clock.now())
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    with ProviderStub() as stub:
        auth_token = provider_env(stub.url)["TWILIO_AUTH_TOKEN"]
        # Twilio signs the URL it was given: here, the web process's own address.
        stack = start_stack(
            stub.url, worker_name="booking", web_port=web_port, PUBLIC_BASE_URL=web_url
        )
        zone = zone_where_it_is_nine(virtual_clock.now())
        lead = stack.sign_up(CAMPAIGN.article, "Robin", EMAIL, PHONE, zone)
        control = stack.sign_up(CAMPAIGN.article, "Casey", CONTROL_EMAIL, CONTROL_PHONE, zone)

        # The first steps arrive as planned: the guide by email, then the hello by text.
        wait_until(
            lambda: (
                sent_steps(engine, lead, MessageKind.CAMPAIGN)
                == {"email": ["welcome"], "sms": ["sms-hello"]}
            ),
            20,
            "the welcome email and the SMS hello to be sent",
            abort=stack.trouble,
        )

        wait_until(
            lambda: slack_before_first_slot(factory, settings, virtual_clock) >= REPLY_MARGIN,
            10,
            "the next screening slot to be far enough ahead to answer an offer",
        )
        offer_texts = text_the_clinic(web_url, auth_token, "BOOK", BOOK_SID)
        with Session(engine) as session:
            lead_row = session.scalars(select(Lead).where(Lead.public_id == lead)).one()
            [offer] = session.scalars(
                select(SlotOffer).where(SlotOffer.lead_id == lead_row.id)
            ).all()
        offered = [datetime.fromisoformat(start) for start in offer.starts]
        first = when(offered[0], ZoneInfo(zone))  # as the lead reads it, in their own zone
        [offer_text] = offer_texts
        assert "Open times for your free screening:" in offer_text
        assert len(offered) == 3 and offered == sorted(offered)
        for number, start in enumerate(offered, 1):
            assert f"{number}) {when(start, ZoneInfo(zone)).short}" in offer_text, offer_text
        assert "Reply 1, 2 or 3 to book." in offer_text

        [booked_text] = text_the_clinic(web_url, auth_token, "1", CHOICE_SID)
        assert booked_text.startswith(f"You're booked: free screening {first.short}"), booked_text

        with Session(engine) as session:
            [booking] = session.scalars(select(Booking).where(Booking.lead_id == lead_row.id)).all()
            [enrollment] = session.scalars(
                select(Enrollment).where(Enrollment.lead_id == lead_row.id)
            ).all()
        assert (booking.status, booking.starts_at, booking.source) == (
            "confirmed",
            offered[0],
            "sms-reply",
        )
        assert (enrollment.status, enrollment.end_reason, enrollment.ended_at) == (
            EnrollmentStatus.EXITED,
            EXIT_REASON,
            booking.created_at,
        )

        # Twilio retries a webhook it thinks failed: the same MessageSid changes nothing
        # and gets no second answer.
        before = booking_snapshot(engine, lead_row.id)
        assert text_the_clinic(web_url, auth_token, "1", CHOICE_SID) == []
        assert booking_snapshot(engine, lead_row.id) == before

        # Let virtual time run past the booked lead's remaining steps: the control
        # lead's last step (due a moment after the booked lead's) goes out, and nothing
        # is left waiting for a worker.
        def everything_settled() -> bool:
            if "invitation" not in sent_steps(engine, control, MessageKind.CAMPAIGN).get(
                "email", []
            ):
                return False
            with Session(engine) as session:
                waiting = session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.status.in_(
                            [MessageStatus.QUEUED, MessageStatus.HELD, MessageStatus.SENDING]
                        )
                    )
                )
            return waiting == 0

        wait_until(
            everything_settled,
            40,
            "the control lead's whole sequence to be sent and the outbox to settle",
            abort=stack.trouble,
        )
        received = list(stub.records)

    lead_rows = lead_messages(engine, lead)
    by_provider_id = {row.provider_id: row for row in lead_rows if row.provider_id}
    to_lead = [r for r in received if r["to"] in (EMAIL, PHONE)]
    assert all(r["provider_id"] in by_provider_id for r in to_lead), to_lead
    handed_off = [(by_provider_id[r["provider_id"]], r) for r in to_lead]
    campaign = [(row, r) for row, r in handed_off if row.kind == MessageKind.CAMPAIGN]
    notices = [(row, r) for row, r in handed_off if row.kind == MessageKind.TRANSACTIONAL]

    # Before the booking the campaign's first steps went out; after it, none at all.
    assert sorted(row.step_key for row, _ in campaign) == sorted(STEPS_BEFORE_BOOKING), to_lead
    assert all(row.sent_at is not None and row.sent_at < booking.created_at for row, _ in campaign)
    assert all(
        row.status == MessageStatus.SKIPPED and row.handed_off_at is None
        for row in lead_rows
        if row.step_key in STEPS_AFTER_BOOKING
    )
    assert len(handed_off) == len(campaign) + len(notices)
    # The control lead shows those steps were due and the stack was sending them.
    control_sent = sent_steps(engine, control, MessageKind.CAMPAIGN)
    assert sorted(control_sent["email"] + control_sent["sms"]) == sorted(
        STEPS_BEFORE_BOOKING + STEPS_AFTER_BOOKING
    )

    # The booking's confirmation reached the provider on both channels, once each.
    assert sorted((row.step_key, row.channel) for row, _ in notices) == [
        (CONFIRMATION, "email"),
        (CONFIRMATION, "sms"),
    ]
    [email] = [r for _, r in notices if r["provider"] == "sendgrid"]
    [sms] = [r for _, r in notices if r["provider"] == "twilio"]
    assert email["subject"] == f"Your free screening: {first.full}"
    calendars = [a for a in email["attachments"] if a["filename"].endswith(".ics")]
    assert len(calendars) == 1, email["attachments"]
    [calendar] = calendars
    assert calendar["type"] == "text/calendar"
    assert f"DTSTART:{offered[0].astimezone(UTC):%Y%m%dT%H%M%SZ}" in calendar["content"]
    assert "METHOD:REQUEST" in calendar["content"]
    assert first.short in sms["body"]
