"""Sending a previewed step to a member of staff: never to a lead, never recorded as one."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from nurture.campaigns.preview import Preview
from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import new_public_id
from nurture.leads.submission import DEFAULT_PHONE_REGION
from nurture.messages.channels.base import (
    EmailChannel,
    OutboundEmail,
    OutboundSms,
    ProviderResult,
    SmsChannel,
)
from nurture.messages.channels.factory import email_channel, sms_channel

TEST_PREFIX = "[Test] "


@dataclass(frozen=True)
class Senders:
    """The channels a test goes through: the configured ones, unless a test swaps them."""

    email: EmailChannel
    sms: SmsChannel

    @classmethod
    def configured(cls, settings: Settings) -> Senders:
        """The channels the settings name (console files in development)."""
        return cls(email_channel(settings), sms_channel(settings))


def sms_test_number(text: str) -> str:
    """The number in E.164 form; ValueError says what is wrong with it."""
    if not text.strip():
        raise ValueError("type the mobile number the test should go to")
    try:
        number = phonenumbers.parse(text, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text.strip()!r} is not a phone number: use e.g. +1 217 555 0123")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def send_test(
    preview: Preview, senders: Senders, settings: Settings, *, email_to: str, phone: str
) -> ProviderResult:
    """Hand the rendered preview to the channel once; provider errors propagate."""
    # The ref names no lead and no outbox row: the test leaves nothing in the database.
    ref = f"test-{new_public_id()}"
    if preview.channel is Channel.SMS:
        return senders.sms.send(OutboundSms(message_ref=ref, to=phone, body=preview.sms))
    return senders.email.send(
        OutboundEmail(
            message_ref=ref,
            to=email_to,
            from_email=settings.email_from,
            from_name=settings.clinic_name,
            subject=TEST_PREFIX + preview.subject,
            text=preview.text,
            html=preview.html,
            reply_to=settings.email_from,
        )
    )
