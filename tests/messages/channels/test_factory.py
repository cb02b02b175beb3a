"""Configuration picks the channels: console by default, the providers when asked."""

from __future__ import annotations

from nurture.config import Settings
from nurture.messages.channels.console import ConsoleEmailChannel, ConsoleSmsChannel
from nurture.messages.channels.factory import email_channel, sms_channel
from nurture.messages.channels.sendgrid import SendGridChannel
from nurture.messages.channels.twilio import TwilioChannel


def test_default_settings_use_the_console_channels_under_the_data_dir(settings: Settings) -> None:
    email, sms = email_channel(settings), sms_channel(settings)

    assert isinstance(email, ConsoleEmailChannel)
    assert email.outbox_dir == settings.outbox_dir
    assert isinstance(sms, ConsoleSmsChannel)
    assert sms.log_path == settings.sms_log_path


def test_provider_settings_use_sendgrid_and_twilio(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "email_channel": "sendgrid",
            "sendgrid_api_key": "SG.not-real.key",
            "sms_channel": "twilio",
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": "not-a-real-token",
            "twilio_from_number": "+12175550142",
        }
    )

    sms = sms_channel(configured)
    assert isinstance(email_channel(configured), SendGridChannel)
    assert isinstance(sms, TwilioChannel)
    sms.close()
