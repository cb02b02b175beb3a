"""The seeded campaign's call-back: a lead who taps the screening link in the text and
has not booked a day later goes on the front desk's call list (an inbox item with the
step's note), their sequence waits for the desk, and nobody else is called."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from nurture.analytics.funnel import live_results
from nurture.analytics.period import Period
from nurture.booking.service import book_screening
from nurture.channel import Channel
from nurture.consent.ledger import Evidence
from nurture.consent.opt_out import OptOut, Skip, opt_out
from nurture.messages.deliver import Delivery
from nurture.messages.short_links import ShortLink, follow
from nurture.replies.inbox import resolve_inbox_item
from nurture.replies.models import InboxItem, InboxKind, InboxStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.deliverability.conftest import ADDRESS, SentEmail, Sequence
from tests.factories import capture

CALL_BACK = "screening-call-back"
# Sign-up is Monday 09:00 in Chicago: the screening text goes on day 12 (Saturday, 10:00,
# its window opens); the call-back is due on day 13 (Sunday), so it waits for the desk's
# hours (Monday 09:00); the invitation email is due then too.
INVITE_SENT = timedelta(days=12, hours=2)
PAST_THE_CALL = timedelta(days=14, hours=2)
HOURLY = timedelta(hours=1)


def tap_the_screening_link(sequence: Sequence) -> None:
    """What /r/{code} records when the lead follows the text's booking link."""
    invite = sequence.messages()["sms-screening-invite"]
    assert invite.status == "sent"
    with sequence.db.factory.begin() as session:
        code = session.scalars(
            select(ShortLink.code).where(ShortLink.message_id == invite.id)
        ).one()
        assert follow(session, sequence.settings, code, sequence.clock.now(), count=True)


def run_to_the_tap(sequence: Sequence) -> datetime:
    """Run to the day after the screening text, tap its link; returns the sign-up time."""
    start = sequence.clock.now()
    sequence.run(until=start + INVITE_SENT, step=HOURLY)
    tap_the_screening_link(sequence)
    return start


def run_past_the_call(sequence: Sequence, start: datetime) -> None:
    sequence.run(until=start + PAST_THE_CALL, step=HOURLY)


def inbox(sequence: Sequence) -> list[InboxItem]:
    with sequence.db.factory() as session:
        return list(session.scalars(select(InboxItem).order_by(InboxItem.id)))


def texts_sent(sequence: Sequence) -> int:
    return len(sequence.sms.sent)


def test_a_lead_who_taps_the_screening_link_and_does_not_book_is_put_on_the_call_list(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = run_to_the_tap(sequence)
    texts_before = texts_sent(sequence)
    run_past_the_call(sequence, start)

    task = sequence.messages()[CALL_BACK]
    [item] = inbox(sequence)
    assert (item.kind, item.status, item.reason) == (
        InboxKind.CALL_BACK,
        InboxStatus.OPEN,
        "call back",
    )
    assert item.note is not None and item.note.startswith("Dana tapped the free-screening link")
    assert task.status == "sent"
    assert task.reason == (
        f"call-back task for the front desk (inbox item {item.id}); branch taken: "
        "clicked sms-screening-invite on day 12 and has not booked"
    )
    # Nothing went to a provider for it, and it opened in the desk's hours (Monday 09:00).
    assert texts_sent(sequence) == texts_before
    assert task.sent_at is not None
    assert (
        task.sent_at.astimezone(sequence.settings.clinic_zone).strftime("%a %H:%M") == "Mon 09:00"
    )
    # The sequence waits for the desk: the invitation email is not written meanwhile.
    assert "screening-invitation" not in sequence.messages()
    with sequence.db.factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.PAUSED


def test_once_the_desk_has_called_and_resumes_the_invitation_email_goes(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = run_to_the_tap(sequence)
    run_past_the_call(sequence, start)
    [item] = inbox(sequence)
    with sequence.db.factory.begin() as session:
        resolve_inbox_item(session, item.id, resume=True, staff="Ana", now=sequence.clock.now())
    sequence.run(until=sequence.clock.now() + HOURLY)
    assert sequence.messages()["screening-invitation"].status == "sent"


def test_a_screening_booked_on_the_call_is_credited_to_the_call_back_step(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = run_to_the_tap(sequence)
    run_past_the_call(sequence, start)
    sequence.clock.advance(timedelta(minutes=20))  # the desk calls; Dana books on the phone
    with sequence.db.factory.begin() as session:
        book_screening(session, welcome.lead_id, source="front desk", now=sequence.clock.now())
    with sequence.db.factory() as session:
        period = Period(zone=sequence.settings.clinic_zone)
        steps = {row.key: row for row in live_results(session, "hamstring-sciatica", period).steps}
    assert steps[CALL_BACK].channel == "call"
    assert (steps[CALL_BACK].sent, steps[CALL_BACK].bookings) == (1, 1)
    assert steps["sms-screening-invite"].bookings == 0


def test_a_lead_who_never_taps_the_link_is_not_called_and_the_reason_is_kept(
    sequence: Sequence, welcome: SentEmail
) -> None:
    run_past_the_call(sequence, sequence.clock.now())
    task = sequence.messages()[CALL_BACK]
    assert (task.status, task.reason) == (
        "skipped",
        "branch not taken: sms-screening-invite not clicked",
    )
    assert inbox(sequence) == []
    assert sequence.messages()["screening-invitation"].status == "sent"


def test_a_lead_who_books_after_tapping_the_link_is_not_called(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = run_to_the_tap(sequence)
    with sequence.db.factory.begin() as session:
        book_screening(session, welcome.lead_id, source="web", now=sequence.clock.now())
    run_past_the_call(sequence, start)
    assert inbox(sequence) == []
    task = sequence.messages().get(CALL_BACK)
    assert task is None or task.status == "skipped"


def test_a_lead_who_texted_stop_after_tapping_the_link_is_not_called(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = run_to_the_tap(sequence)
    stop = OptOut(Channel.SMS, Evidence("sms", "+12175550199", "STOP"), Skip.CAMPAIGN, "STOP")
    with sequence.db.factory.begin() as session:
        opt_out(session, [welcome.lead_id], stop, sequence.clock.now())
    run_past_the_call(sequence, start)
    task = sequence.messages()[CALL_BACK]
    assert (task.status, task.reason) == ("skipped", "no sms consent")
    assert inbox(sequence) == []


def test_the_texts_frequency_cap_does_not_hold_back_the_desks_call(sequence: Sequence) -> None:
    # Signed up at 02:00 on a Thursday: the screening text waits for 10:00 on day 12 and
    # the call falls due at 09:00 the next day, inside the texts' one-a-day cap. A person
    # calls and no message goes, so the cap does not hold the call until 10:00.
    sequence.clock.advance(timedelta(days=2, hours=17))  # Monday 09:00 -> Thursday 02:00
    capture(sequence.db.factory, sequence.clock, sequence.settings, email=ADDRESS)
    start = sequence.clock.now()
    sequence.run(until=start + timedelta(days=12, hours=9), step=HOURLY)
    tap_the_screening_link(sequence)
    sequence.run(until=start + timedelta(days=13, hours=9), step=HOURLY)
    zone = sequence.settings.clinic_zone
    invite = sequence.messages()["sms-screening-invite"]
    task = sequence.messages()[CALL_BACK]
    assert invite.sent_at is not None and task.sent_at is not None
    assert invite.sent_at.astimezone(zone).strftime("%a %H:%M") == "Tue 10:00"
    assert task.status == "sent"
    assert task.sent_at.astimezone(zone).strftime("%a %H:%M") == "Wed 09:00"


def test_a_call_back_delivered_twice_puts_the_lead_on_the_call_list_once(
    sequence: Sequence, welcome: SentEmail
) -> None:
    # Invariant 1 for a task: the item is opened in the commit that settles the row, so a
    # duplicate deliver task (a broker re-delivery) finds it settled and does nothing.
    start = run_to_the_tap(sequence)
    run_past_the_call(sequence, start)
    task = sequence.messages()[CALL_BACK]
    [before] = inbox(sequence)
    again = Delivery(
        sequence.db.factory, sequence.clock, sequence.settings, sequence.email, sequence.sms
    )
    again.deliver_batch([task.id])
    [after] = inbox(sequence)
    assert (after.id, after.note) == (before.id, before.note)
    assert sequence.messages()[CALL_BACK].reason == task.reason
