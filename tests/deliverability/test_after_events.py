"""What the lead receives next once SendGrid has reported on an email."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.messages.channels.base import OutboundEmail
from tests.deliverability.conftest import SentEmail, Sequence, Webhook, sendgrid_event


def emails_sent(sequence: Sequence) -> list[str]:
    return [m.subject for m in sequence.email.sent if isinstance(m, OutboundEmail)]


def test_after_a_hard_bounce_the_next_email_step_is_skipped_and_texts_continue(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail
) -> None:
    bounce = sendgrid_event("bounce", welcome.ref, sequence.clock.now(), type="bounce")
    assert webhook.post([bounce]).status_code == 200
    sequence.run(until=sequence.clock.now() + timedelta(days=2, hours=1))
    messages = sequence.messages()
    assert len(sequence.email.sent) == 1  # the welcome email only
    assert messages["why-stretching-alone"].status == "skipped"
    assert messages["why-stretching-alone"].reason == "email address suppressed: hard bounce"
    assert messages["sms-hello"].status == "sent"


def test_after_a_spam_complaint_no_further_email_goes_out(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail
) -> None:
    complaint = sendgrid_event("spamreport", welcome.ref, sequence.clock.now())
    assert webhook.post([complaint]).status_code == 200
    sequence.run(until=sequence.clock.now() + timedelta(days=15), step=timedelta(hours=4))
    later_emails = [
        m
        for key, m in sequence.messages().items()
        if m.channel == "email" and key != "welcome-article"
    ]
    assert len(later_emails) == 6
    assert {(m.status, m.reason) for m in later_emails} == {
        ("skipped", "email address suppressed: spam complaint")
    }
    assert len(sequence.email.sent) == 1


@pytest.mark.slow  # steps through the whole two-week sequence
def test_after_unsubscribe_and_resubscribe_on_sendgrid_the_next_email_goes_out(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail
) -> None:
    now = sequence.clock.now()
    webhook.post([sendgrid_event("group_unsubscribe", welcome.ref, now, asm_group_id=1)])
    webhook.post(
        [
            sendgrid_event(
                "group_resubscribe", welcome.ref, now + timedelta(minutes=5), asm_group_id=1
            )
        ]
    )
    sequence.run(until=now + timedelta(days=2, hours=1))
    assert sequence.messages()["why-stretching-alone"].status == "sent"
    assert len(emails_sent(sequence)) == 2
