"""The one place that decides which delivery channel the configuration asks for."""

from __future__ import annotations

from typing import assert_never

from nurture.config import Settings
from nurture.messages.channels.base import EmailChannel, SmsChannel
from nurture.messages.channels.console import ConsoleEmailChannel, ConsoleSmsChannel
from nurture.messages.channels.sendgrid import SendGridChannel
from nurture.messages.channels.twilio import TwilioChannel


def email_channel(settings: Settings) -> EmailChannel:
    """The email channel named by `settings.email_channel`."""
    match settings.email_channel:
        case "console":
            return ConsoleEmailChannel(settings.outbox_dir)
        case "sendgrid":
            return SendGridChannel(
                api_key=settings.sendgrid_api_key,
                api_url=settings.sendgrid_api_url,
                timeout=settings.provider_timeout_seconds,
            )
        case _:
            assert_never(settings.email_channel)


def sms_channel(settings: Settings) -> SmsChannel:
    """The SMS channel named by `settings.sms_channel`."""
    match settings.sms_channel:
        case "console":
            return ConsoleSmsChannel(settings.sms_log_path)
        case "twilio":
            return TwilioChannel(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                from_number=settings.twilio_from_number,
                messaging_service_sid=settings.twilio_messaging_service_sid,
                api_url=settings.twilio_api_url,
                timeout=settings.provider_timeout_seconds,
            )
        case _:
            assert_never(settings.sms_channel)
