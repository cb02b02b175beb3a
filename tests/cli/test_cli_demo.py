"""`nurture demo`: three prospects through the real pipeline on an accelerated clock."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking
from nurture.config import Settings
from nurture.db import make_engine
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageKind
from nurture.replies.models import InboundMessage
from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry

# Each rehearses a whole sequence; left out of `make quick`, run by `make test`.
pytestmark = pytest.mark.slow

JORDAN_STEPS = (
    "welcome-article",
    "sms-hello",
    "why-stretching-alone",
    "anatomy-link",
    "sms-tip-nudge",
    "nerve-or-muscle",
    "sms-anatomy-short",  # nobody in the demo opens email: each is texted the gist
    "how-pt-finds-cause",
    "treatment-options",
    "sms-screening-invite",
    "screening-invitation",
)
SMS_STEPS = ("sms-hello", "sms-tip-nudge", "sms-anatomy-short", "sms-screening-invite")
JORDAN_PHONE, RILEY_PHONE = "+12175550100", "+13035550144"
# Jordan 6 campaign emails + confirmation + front-desk note, Sam 7, Riley 7.
DEMO_EMAILS = 8 + 7 + 7


def _sections(output: str) -> dict[str, list[str]]:
    lines = output.splitlines()
    starts = [
        next(i for i, line in enumerate(lines) if line.startswith(f"{name} <"))
        for name in ("Jordan", "Sam", "Riley")
    ]
    ends = [*starts[1:], len(lines)]
    return {
        name: lines[start:end]
        for name, start, end in zip(("Jordan", "Sam", "Riley"), starts, ends, strict=True)
    }


def _line(lines: list[str], *parts: str) -> str:
    """The one line holding every part, in that order."""
    found = [line for line in lines if all(part in line for part in parts)]
    assert len(found) == 1, (parts, lines)
    line = found[0]
    assert [line.index(p) for p in parts] == sorted(line.index(p) for p in parts), line
    return line


def _rows(demo_dir: Path, model: type, *where: object) -> list:  # type: ignore[type-arg]
    engine = make_engine(f"sqlite:///{demo_dir / 'nurture.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(model).where(*where).order_by(model.id)))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def _lead_id(demo_dir: Path, first_name: str) -> int:
    lead: Lead = _rows(demo_dir, Lead, Lead.first_name == first_name)[0]
    return lead.id


def test_demo_rehearses_all_three_sequences_through_the_worker(
    nurture: Invoke, settings: Settings
) -> None:
    began = time.monotonic()
    output = succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    assert time.monotonic() - began < 60
    sections = _sections(output)
    jordan, sam = sections["Jordan"], sections["Sam"]

    for step in JORDAN_STEPS[:-1]:
        assert " sent " in timeline_entry(jordan, step), step
    assert "Day 0" in timeline_entry(jordan, "welcome-article")
    assert "Mon 2 Nov 09:00 CST" in timeline_entry(jordan, "welcome-article")
    assert "Jordan, here is your guide to tight hamstrings" in timeline_entry(
        jordan, "welcome-article"
    )
    assert "Day 12" in timeline_entry(jordan, "sms-screening-invite")

    for step in SMS_STEPS:
        row = timeline_entry(sam, step)
        assert "skipped" in row and "no sms address on file" in row, step
    assert " sent " in timeline_entry(sam, "screening-invitation")
    assert "Sam, your free screening is waiting" in timeline_entry(sam, "screening-invitation")

    # The files the console channels wrote are the ones the timelines claim.
    demo_dir = settings.data_dir / "demo"
    assert len(list((demo_dir / "outbox").glob("*.eml"))) == DEMO_EMAILS
    assert "outbox/" in output and "sms.log" in output


def test_demo_prospect_books_a_screening_by_texting_the_clinic(
    nurture: Invoke, settings: Settings
) -> None:
    output = succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    jordan = _sections(output)["Jordan"]
    demo_dir = settings.data_dir / "demo"
    jordan_id = _lead_id(demo_dir, "Jordan")

    # The texts went in through the signed webhook: it recorded them and what they meant.
    inbound = _rows(demo_dir, InboundMessage, InboundMessage.lead_id == jordan_id)
    assert [(m.body, m.intent, m.sender) for m in inbound] == [
        ("Yes, I'd like to book", "book", JORDAN_PHONE),
        ("2", "slot_choice", JORDAN_PHONE),
    ]
    # An hour after the invite (Sat 14 Nov 10:00 CST), then three minutes later.
    assert [m.received_at.replace(tzinfo=UTC) for m in inbound] == [
        datetime(2026, 11, 14, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 14, 17, 3, tzinfo=UTC),
    ]

    # The conversation as printed: each text, then the clinic's TwiML answer.
    _line(jordan, "Sat 14 Nov 11:00 CST", "Jordan", "Yes, I'd like to book", "(read as book)")
    _line(jordan, "clinic", "Open times for your free screening:")
    _line(jordan, "2) Mon Nov 16, 9:30 AM CST")
    _line(jordan, "Reply 1, 2 or 3 to book.")
    _line(jordan, "Sat 14 Nov 11:03 CST", "Jordan", " 2 ", "(read as slot choice)")
    booked = _line(jordan, "clinic", "You're booked: free screening Mon Nov 16, 9:30 AM CST")
    assert inbound[1].reply in booked  # printed from the HTTP answer, the same text as stored

    # The booking is the second slot offered, in Jordan's zone, made by the reply.
    [booking] = _rows(demo_dir, Booking, Booking.lead_id == jordan_id)
    assert booking.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 16, 15, 30, tzinfo=UTC)
    assert (booking.status, booking.source) == ("confirmed", "sms-reply")
    _line(jordan, "Booked", "Mon 16 Nov 09:30 CST", "confirmed", "via sms-reply")

    # The booking ended the sequence: the last educational email never went out.
    final = timeline_entry(jordan, "screening-invitation")
    assert "skipped" in final and "exit goal reached" in final

    # The notices went out: confirmation email with its calendar file, SMS, reminder.
    notices = _rows(
        demo_dir,
        Message,
        Message.lead_id == jordan_id,
        Message.kind == MessageKind.TRANSACTIONAL,
    )
    assert {(m.step_key, m.channel, m.status) for m in notices} == {
        ("booking-confirmation", "email", "sent"),
        ("booking-confirmation", "sms", "sent"),
        ("booking-front-desk", "email", "sent"),
        ("booking-reminder", "sms", "sent"),
    }
    confirmation = next(
        m for m in notices if (m.step_key, m.channel) == ("booking-confirmation", "email")
    )
    eml = demo_dir / "outbox" / f"{confirmation.ref}.eml"
    email = message_from_bytes(eml.read_bytes(), policy=policy.default)
    [ics] = [a for a in email.iter_attachments() if a.get_content_type() == "text/calendar"]
    assert b"BEGIN:VEVENT" in ics.get_content().encode()
    _line(jordan, f"{confirmation.ref}.eml, with {ics.get_filename()}")
    texts = [json.loads(line) for line in (demo_dir / "sms.log").read_text().splitlines()]
    assert any("your free screening is booked for Mon Nov 16" in t["body"] for t in texts)


def test_demo_prospect_who_texts_stop_gets_no_more_texts_but_emails_continue(
    nurture: Invoke, settings: Settings
) -> None:
    output = succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    riley = _sections(output)["Riley"]
    demo_dir = settings.data_dir / "demo"

    assert " sent " in timeline_entry(riley, "sms-hello")
    _line(riley, "Mon 2 Nov 11:20 MST", "Riley", "STOP", "(read as stop)")
    _line(riley, "clinic", "you are unsubscribed")
    _line(riley, "SMS consent revoked", "Mon 2 Nov 11:20 MST", "sms:STOP")
    for step in SMS_STEPS[1:]:
        row = timeline_entry(riley, step)
        assert "skipped" in row and "sms consent" in row, row
    for step in JORDAN_STEPS:
        if step not in SMS_STEPS:
            assert " sent " in timeline_entry(riley, step), step

    # Riley's number got the one hello and nothing after the STOP.
    texts = [json.loads(line) for line in (demo_dir / "sms.log").read_text().splitlines()]
    assert Counter(t["to"] for t in texts) == {JORDAN_PHONE: 6, RILEY_PHONE: 1}
    riley_id = _lead_id(demo_dir, "Riley")
    sms_rows = _rows(
        demo_dir,
        Message,
        Message.lead_id == riley_id,
        Message.channel == "sms",
        Message.kind == "campaign",  # texts, not the desk's call-back
    )
    assert [m.status for m in sms_rows] == ["sent", "skipped", "skipped", "skipped"]


def test_demo_starts_from_a_fresh_folder_each_time(nurture: Invoke, settings: Settings) -> None:
    succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    stale = settings.data_dir / "demo" / "outbox" / "left-over.eml"
    stale.write_text("from an earlier run")
    output = succeeded(nurture("demo", "--start", "2026-11-09T09:00"))
    assert not stale.exists()
    assert len(list((settings.data_dir / "demo" / "outbox").glob("*.eml"))) == DEMO_EMAILS
    assert "Mon 9 Nov 09:00 CST" in output


def test_demo_refuses_a_speed_it_cannot_read(nurture: Invoke) -> None:
    output = failed_cleanly(nurture("demo", "--speed", "fast"))
    assert "--speed 'fast'" in output
