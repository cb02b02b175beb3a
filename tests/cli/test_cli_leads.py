"""`nurture leads`: staff entry, the list, one lead's story, and booking by hand."""

from __future__ import annotations

from sqlalchemy import select

from nurture.booking.models import Booking
from nurture.clock import utcnow
from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment
from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry

ADD_DANA = (
    "leads",
    "add",
    "--email",
    "Dana.Doe@Example.com",
    "--first-name",
    "Dana",
    "--phone",
    "(217) 555-0199",
    "--timezone",
    "America/Chicago",
    "--sms-consent",
)


def test_staff_added_lead_is_enrolled_with_cli_consent_evidence(
    nurture: Invoke, synced: None
) -> None:
    output = succeeded(nurture(*ADD_DANA))
    assert "Added Dana <dana.doe@example.com>" in output
    assert "first step welcome-article due" in output
    with get_sessionmaker()() as session:
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [(e.channel, e.source) for e in events] == [("email", "cli"), ("sms", "cli")]
        assert session.scalars(select(Enrollment.status)).one() == "active"


def test_adding_with_bad_input_names_the_option(nurture: Invoke, synced: None) -> None:
    output = failed_cleanly(
        nurture("leads", "add", "--email", "not-an-email", "--first-name", "Al")
    )
    assert "--email" in output
    output = failed_cleanly(
        nurture("leads", "add", "--email", "al@example.com", "--first-name", "Al", "--sms-consent")
    )
    assert "--sms-consent" in output and "mobile number" in output
    output = failed_cleanly(
        nurture(
            "leads", "add", "--email", "al@example.com", "--first-name", "Al", "--article", "nope"
        )
    )
    assert "--article 'nope'" in output
    with get_sessionmaker()() as session:
        assert session.scalars(select(Enrollment)).all() == []


def test_lead_list_masks_email_and_shows_the_next_step(nurture: Invoke, synced: None) -> None:
    succeeded(nurture(*ADD_DANA))
    output = succeeded(nurture("leads", "list"))
    row = next(line for line in output.splitlines() if "Dana" in line)
    assert "d***@example.com" in row
    assert "dana.doe" not in output
    assert "active" in row and "welcome-article" in row
    assert "page 1 of 1 (1 in all)" in output


def test_booking_skips_pending_messages_and_ends_the_sequence(
    nurture: Invoke, synced: None, settings: Settings
) -> None:
    succeeded(nurture(*ADD_DANA))
    # The dispatcher writes the welcome email; no worker delivers it, so it stays queued.
    dispatch_due(
        get_sessionmaker(),
        utcnow(),
        lambda ids: None,
        batch_size=10,
        clinic_zone=settings.clinic_zone,
        policy=SendingPolicy.from_settings(settings),
    )
    output = succeeded(nurture("leads", "book", "dana.doe@example.com"))
    assert "Booked a free screening for Dana." in output
    assert "1 pending message(s) skipped; the sequence has ended." in output
    with get_sessionmaker()() as session:
        assert session.scalars(select(Booking.source)).one() == "cli"
        message = session.scalars(select(Message)).one()
        assert (message.status, message.reason) == (
            "skipped",
            "exit goal reached: screening booked",
        )
    again = succeeded(nurture("leads", "book", "dana.doe@example.com"))
    assert "already had a booking (via cli)" in again
    assert "0 pending message(s) skipped; no sequence was running." in again


def test_show_tells_the_lead_story_from_the_database(nurture: Invoke, synced: None) -> None:
    succeeded(nurture(*ADD_DANA))
    succeeded(nurture("leads", "book", "dana.doe@example.com"))
    output = succeeded(nurture("leads", "show", "DANA.DOE@example.com"))
    assert "Dana <dana.doe@example.com>" in output
    assert "+12175550199" in output
    assert "America/Chicago" in output
    ledger = [line for line in output.splitlines() if " granted " in line]
    assert len(ledger) == 2 and all(" cli " in line for line in ledger)
    assert "Booking: requested via cli" in output
    assert "exited (exit goal reached: screening booked)" in output
    final = timeline_entry(output, "screening-invitation")
    assert "skipped" in final and "sequence ended: exit goal reached" in final


def test_show_for_an_unknown_address_is_a_clear_error(nurture: Invoke, migrated: None) -> None:
    output = failed_cleanly(nurture("leads", "show", "nobody@example.com"))
    assert "no lead with the email address nobody@example.com" in output
