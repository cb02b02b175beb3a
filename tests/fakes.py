"""Channels that record what they were given, and can be told to fail."""

from __future__ import annotations

from dataclasses import dataclass, field

from nurture.messages.channels.base import ChannelError, OutboundEmail, OutboundSms, ProviderResult


@dataclass
class RecordingChannel:
    name: str = "recording"
    sent: list[OutboundEmail | OutboundSms] = field(default_factory=list)
    failures: list[ChannelError] = field(default_factory=list)

    def send(self, message: OutboundEmail | OutboundSms) -> ProviderResult:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return ProviderResult(provider_id=f"fake-{message.message_ref}")
