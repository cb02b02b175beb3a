"""The clinic's sending policy: sending hours per channel, stricter US-state hours, and a
frequency cap across all campaigns. One object, built from settings, used by the
dispatcher (when is a step due), the gate (may it go now) and the timeline preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import phonenumbers

from nurture.campaigns.spec import StepSpec
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.area_codes import state_for_area_code
from nurture.hours import FrequencyCap, SendWindow, parse_hours
from nurture.phones import parse_stored


@lru_cache(maxsize=4096)
def us_state(phone: str | None) -> str | None:
    """The US state an area code belongs to ('FL'), or None outside the US or unknown."""
    number = parse_stored(phone)
    if number is None or phonenumbers.region_code_for_number(number) != "US":
        return None
    return state_for_area_code(str(number.national_number)[:3])


@dataclass(frozen=True)
class SendingPolicy:
    sending_hours: dict[Channel, SendWindow] = field(default_factory=dict)
    state_sms_hours: dict[str, SendWindow] = field(default_factory=dict)
    caps: dict[Channel, FrequencyCap] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SendingPolicy:
        quiet = {
            channel: parse_hours(text)
            for channel, text in (
                (Channel.SMS, settings.sms_sending_hours),
                (Channel.EMAIL, settings.email_sending_hours),
            )
            if text
        }
        caps = {
            channel: FrequencyCap.parse(text)
            for channel, text in (
                (Channel.SMS, settings.sms_frequency_cap),
                (Channel.EMAIL, settings.email_frequency_cap),
            )
            if text
        }
        states = {code.upper(): parse_hours(t) for code, t in settings.sms_state_hours.items()}
        return cls(quiet, states, caps)

    def windows(self, step: StepSpec, phone: str | None) -> tuple[SendWindow, ...]:
        """Every window a step must fall in for this lead: the step's, the channel's
        sending hours and, for SMS, the stricter hours of the lead's state."""
        windows = [step.window.window()] if step.window else []
        if step.task is not None:
            return tuple(windows)  # a task texts nobody: only the desk's hours, if given
        if step.channel in self.sending_hours:
            windows.append(self.sending_hours[step.channel])
        if step.channel is Channel.SMS:
            state = us_state(phone)
            if state in self.state_sms_hours:
                windows.append(self.state_sms_hours[state])
        return tuple(windows)

    def capped(self, step: StepSpec) -> bool:
        """Whether the frequency cap holds `step`: a message on a capped channel. A task
        (the desk's call-back) sends the lead nothing, so no cap counts or holds it."""
        return step.task is None and step.channel in self.caps

    def cap_release(
        self, channel: Channel, recent: list[datetime], now: datetime
    ) -> datetime | None:
        """When the cap lets the next message out, or None if it may go now."""
        cap = self.caps.get(channel)
        if cap is None:
            return None
        inside = sorted(t for t in recent if t > now - cap.period)
        return cap.release(inside[-cap.count] if len(inside) >= cap.count else None)
