"""Who a message goes out from, and how fast that sender may send.

A sender is what a provider rate-limits: one Twilio number or Messaging Service, one
SendGrid account. The console channels have no provider behind them and no limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nurture.channel import Channel
from nurture.config import Settings


@dataclass(frozen=True, slots=True)
class Sender:
    key: str  # the rate limiter's name for it; never a secret
    rate: float  # sends a second; 0 means no limit


def sms_from(settings: Settings) -> str | None:
    """The Twilio number or Messaging Service texts go from under `settings` (a location's
    settings name its own); None for the console channel."""
    if settings.sms_channel != "twilio":
        return None
    return settings.twilio_messaging_service_sid or settings.twilio_from_number or None


def sender_for(settings: Settings, channel: Channel) -> Sender:
    """The sender of `channel`'s messages under `settings`."""
    if channel is Channel.SMS:
        if settings.sms_channel != "twilio":
            return Sender("console-sms", 0.0)
        return Sender(f"twilio:{sms_from(settings) or ''}", settings.sms_send_rate)
    if settings.email_channel != "sendgrid":
        return Sender("console-email", 0.0)
    # The account, by a digest of its key: the key itself never leaves the settings.
    account = hashlib.sha256(settings.sendgrid_api_key.encode()).hexdigest()[:12]
    return Sender(f"sendgrid:{account}", settings.email_send_rate)
