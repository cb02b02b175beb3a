"""What a booking tells the lead and the front desk, on which channel, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from nurture.booking.service import book_slot, cancel_booking, reschedule_booking
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.models import Message, MessageStatus
from nurture.messages.segments import count_segments
from tests.booking.clinic import TUE_0900, notices, set_availability
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

# Thursday 5 November 2026, 09:00 in Chicago: the reminder is due Wednesday 09:00.
THU_0900 = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
FRI_0900 = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)
DESK = "desk@riverside-pt.example"
HEALTH_WORDS = ("hamstring", "sciatic", "nerve", "pain", "back", "knee")


def book(db: Database, settings: Settings, clock: ManualClock, lead_id: int, at: datetime) -> int:
    with db.factory.begin() as session:
        return book_slot(session, settings, lead_id, at, source="test", now=clock.now()).id


def emails(harness: Harness, to: str | None = None) -> list[OutboundEmail]:
    return [m for m in harness.email.sent if isinstance(m, OutboundEmail) and to in (None, m.to)]


def texts(harness: Harness) -> list[str]:
    return [m.body for m in harness.sms.sent if isinstance(m, OutboundSms)]


def event_of(email: OutboundEmail) -> tuple[str, dict[str, object]]:
    [attachment] = email.attachments
    calendar = Calendar.from_ical(attachment.data)
    [event] = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), {
        "uid": str(event["UID"]),
        "start": event.decoded("DTSTART"),
        "end": event.decoded("DTEND"),
        "sequence": int(event["SEQUENCE"]),
        "summary": str(event["SUMMARY"]),
        "location": str(event["LOCATION"]),
        "organizer": str(event["ORGANIZER"]),
        "status": str(event["STATUS"]),
    }


def test_confirmation_email_carries_a_calendar_invitation_for_the_booked_time(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    booking_id = book(db, settings, clock, lead.lead_id, THU_0900)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [confirmation] = [e for e in emails(harness, "dana@example.com") if e.attachments]
    assert confirmation.subject == "Your free screening: Thursday, November 5 at 9:00 AM CST"
    assert "Thursday, November 5 at 9:00 AM CST (30 minutes)" in confirmation.text
    assert settings.clinic_address in confirmation.text
    assert "/calendar.ics" in confirmation.text and "/cancel" in confirmation.html
    assert confirmation.attachments[0].content_type == "text/calendar; method=REQUEST"
    method, event = event_of(confirmation)
    assert method == "REQUEST"
    assert event == {
        "uid": f"screening-{booking_id}@care.example.test",
        "start": THU_0900,
        "end": THU_0900 + timedelta(minutes=30),
        "sequence": 0,
        "summary": f"Free screening at {settings.clinic_name}",
        "location": settings.clinic_address,
        "organizer": f"mailto:{settings.email_from}",
        "status": "CONFIRMED",
    }
    assert b"DTSTART:20261105T150000Z" in confirmation.attachments[0].data


def test_times_are_shown_in_the_leads_own_zone_with_its_abbreviation(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, timezone="America/New_York")
    book(db, settings, clock, lead.lead_id, THU_0900)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [confirmation] = [e for e in emails(harness) if e.attachments]
    assert "Thursday, November 5 at 10:00 AM EST" in confirmation.text
    assert texts(harness)[-1].count("Thu Nov 5, 10:00 AM EST") == 1


def test_sms_confirmation_goes_only_to_leads_who_agreed_to_texts(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=2)
    texting = capture(db.factory, clock, settings, email="t@example.com", sms=True)
    silent = capture(
        db.factory, clock, settings, email="s@example.com", phone="+12175550123", sms=False
    )
    texting_booking = book(db, settings, clock, texting.lead_id, THU_0900)
    silent_booking = book(db, settings, clock, silent.lead_id, THU_0900)
    keys = notices(db.factory)
    assert f"booking:{texting_booking}:booking-confirmation:20261105T1500:v0:sms" in keys
    assert not [
        k for k in keys if k.startswith(f"booking:{silent_booking}:") and k.endswith(":sms")
    ]
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [body] = [t for t in texts(harness) if "is booked for" in t]
    assert body == (
        "Riverside Physical Therapy: your free screening is booked for Thu Nov 5, 9:00 AM CST, "
        "120 Main Street, Suite 4, Springfield, IL 62701. To change it, call (217) 555-0142 "
        "or see our email."
    )
    assert count_segments(body).segments <= 2
    assert not any(word in body.lower() for word in HEALTH_WORDS)
    assert len([e for e in emails(harness) if e.attachments]) == 2  # both get the email


def test_reminder_is_due_a_day_before_by_sms_when_the_lead_texts(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    booking_id = book(db, settings, clock, lead.lead_id, THU_0900)
    reminder = notices(db.factory)[f"booking:{booking_id}:booking-reminder:20261105T1500:v0:sms"]
    assert reminder.due_at == THU_0900 - timedelta(hours=24)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=23), step=timedelta(hours=1))
    assert not [t for t in texts(harness) if t.startswith("Reminder")]
    clock.set(THU_0900 - timedelta(hours=24))
    harness.run_for(timedelta(minutes=30))
    [body] = [t for t in texts(harness) if t.startswith("Reminder")]
    assert "Thu Nov 5, 9:00 AM CST" in body
    assert not any(word in body.lower() for word in HEALTH_WORDS)


def test_reminder_goes_by_email_to_a_lead_without_sms_consent(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, sms=False)
    book(db, settings, clock, lead.lead_id, THU_0900)
    clock.set(THU_0900 - timedelta(hours=24))
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=30))
    subjects = [e.subject for e in emails(harness)]
    assert "Reminder: your free screening is on Thursday, November 5 at 9:00 AM CST" in subjects
    assert harness.sms.sent == []


def test_booking_less_than_a_day_ahead_sends_no_separate_reminder(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    book(db, settings, clock, lead.lead_id, TUE_0900)  # tomorrow morning
    assert not [k for k in notices(db.factory) if ":booking-reminder:" in k]


def test_cancelled_booking_skips_its_reminder_and_withdraws_the_invitation(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    booking_id = book(db, settings, clock, lead.lead_id, THU_0900)
    with db.factory.begin() as session:
        cancel_booking(session, settings, booking_id, source="booking-link", now=clock.now())
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=4), step=timedelta(hours=2))
    reminder = notices(db.factory)[f"booking:{booking_id}:booking-reminder:20261105T1500:v0:sms"]
    assert (reminder.status, reminder.reason) == (MessageStatus.SKIPPED, "booking cancelled")
    assert not [t for t in texts(harness) if t.startswith("Reminder")]
    [cancellation] = [e for e in emails(harness) if "is cancelled" in e.subject]
    method, event = event_of(cancellation)
    assert (method, event["status"], event["sequence"]) == ("CANCEL", "CANCELLED", 1)
    assert event["uid"] == f"screening-{booking_id}@care.example.test"
    assert any("is cancelled" in t for t in texts(harness))


def test_rescheduling_sends_a_new_confirmation_and_moves_the_reminder(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    booking_id = book(db, settings, clock, lead.lead_id, THU_0900)
    with db.factory.begin() as session:
        reschedule_booking(session, settings, booking_id, FRI_0900, source="sms", now=clock.now())
    keys = notices(db.factory)
    old = keys[f"booking:{booking_id}:booking-reminder:20261105T1500:v0:sms"]
    new = keys[f"booking:{booking_id}:booking-reminder:20261106T1500:v1:sms"]
    assert (old.status, old.reason) == (MessageStatus.SKIPPED, "booking moved to another time")
    assert (new.status, new.due_at) == (MessageStatus.HELD, FRI_0900 - timedelta(hours=24))
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [moved] = [e for e in emails(harness) if e.subject.startswith("Your free screening has moved")]
    assert "It was Thursday, November 5 at 9:00 AM CST" in moved.html
    method, event = event_of(moved)
    assert (method, event["start"], event["sequence"]) == ("REQUEST", FRI_0900, 1)
    assert event["uid"] == f"screening-{booking_id}@care.example.test"
    # Moving back to a time used before is a new version: it gets its own reminder again.
    with db.factory.begin() as session:
        reschedule_booking(session, settings, booking_id, THU_0900, source="sms", now=clock.now())
    again = notices(db.factory)[f"booking:{booking_id}:booking-reminder:20261105T1500:v2:sms"]
    assert again.status == MessageStatus.HELD


def test_front_desk_hears_of_each_booking_at_its_own_address(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    desk_settings = settings.model_copy(update={"front_desk_email": DESK})
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings, first_name="Dana")
    booking_id = book(db, desk_settings, clock, lead.lead_id, THU_0900)
    with db.factory.begin() as session:
        cancel_booking(session, desk_settings, booking_id, source="sms", now=clock.now())
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    desk = emails(harness, DESK)
    assert [e.subject for e in desk] == [
        "New screening: Dana, Thu Nov 5, 9:00 AM CST",
        "Screening cancelled: Dana, Thu Nov 5, 9:00 AM CST",
    ]
    assert "dana@example.com" in desk[0].text and "(217) 555-0199" in desk[0].text
    assert "via sms" in desk[1].text
    # The lead never receives the front desk's copy.
    assert not [
        e for e in emails(harness, "dana@example.com") if e.subject.startswith("New screening")
    ]


def test_no_front_desk_notice_without_a_front_desk_address(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    assert settings.front_desk_email == ""
    set_availability(db.factory, clock)
    lead = capture(db.factory, clock, settings)
    book(db, settings, clock, lead.lead_id, THU_0900)
    with db.factory() as session:
        kinds = set(session.scalars(select(Message.step_key)))
    assert "booking-front-desk" not in kinds and "booking-confirmation" in kinds


def test_a_hostile_name_is_escaped_in_the_html_and_literal_in_the_text(
    db: Database, settings: Settings, clock: ManualClock, campaign: int
) -> None:
    set_availability(db.factory, clock)
    name = "<img src=x onerror=alert(1)>"
    lead = capture(db.factory, clock, settings, first_name=name)
    book(db, settings, clock, lead.lead_id, THU_0900)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(minutes=1))
    [confirmation] = [e for e in emails(harness) if e.attachments]
    assert f"Hi {name}," in confirmation.text
    assert "<img" not in confirmation.html
    assert "Hi &lt;img src=x onerror=alert(1)&gt;," in confirmation.html
