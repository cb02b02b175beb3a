"""`nurture inbox`: the front desk sees a question and resumes the paused sequence."""

from __future__ import annotations

from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import get_sessionmaker
from nurture.replies.call_backs import open_call_back
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.cli.conftest import Invoke, failed_cleanly, succeeded
from tests.factories import capture


def test_question_by_text_is_listed_and_resolving_it_resumes_the_sequence(
    nurture: Invoke, synced: None, settings: Settings, clock: ManualClock
) -> None:
    factory = get_sessionmaker()
    capture(factory, clock, settings, phone="+12175550199")
    with factory.begin() as session:
        receive_sms(
            session,
            settings,
            InboundSms("SM1", "+12175550199", "what is this exactly?"),
            clock.now(),
        )
    with factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.PAUSED
    listing = succeeded(nurture("inbox", "list"))
    assert "what is this exactly?" in listing and "Dana" in listing
    row = next(line for line in listing.splitlines() if "what is this" in line)
    item_id = row.strip("│ ").split()[0]
    assert "sequence resumed" in succeeded(nurture("inbox", "resolve", item_id))
    with factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.ACTIVE
    assert "The inbox is empty." in succeeded(nurture("inbox", "list"))


def test_resolving_an_unknown_item_says_so(nurture: Invoke, synced: None) -> None:
    failed_cleanly(nurture("inbox", "resolve", "999"))


def test_a_call_back_is_listed_as_a_call_with_its_note(
    nurture: Invoke, synced: None, settings: Settings, clock: ManualClock
) -> None:
    factory = get_sessionmaker()
    lead = capture(factory, clock, settings, phone="+12175550199")
    with factory.begin() as session:
        open_call_back(
            session, lead_id=lead.lead_id, phone="+12175550199", note="Call Dana", now=clock.now()
        )
    row = next(line for line in succeeded(nurture("inbox", "list")).splitlines() if "Dana" in line)
    assert "call" in row.split("│")[4] and "Call Dana" in row
