"""The clinic's sending policy: quiet hours per channel, stricter US-state hours, and a
frequency cap across all campaigns. One object, built from settings, used by the
dispatcher (when is a step due), the gate (may it go now) and the timeline preview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache

import phonenumbers

from nurture.campaigns.spec import StepSpec
from nurture.config import Settings
from nurture.consent.area_codes import state_for_area_code
from nurture.consent.models import Channel
from nurture.sequences.schedule import SendWindow

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([hd])\s*$")


def parse_hours(text: str) -> SendWindow:
    """'08:00-21:00' -> a daily window; ValueError names the expected form."""
    match = _HOURS.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time range like 08:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise ValueError(f"{text!r}: the start must be before the end")
    return SendWindow(start, end)


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    count: int
    period: timedelta

    @classmethod
    def parse(cls, text: str) -> FrequencyCap:
        """'1/24h' or '3/7d' -> at most that many messages per rolling period."""
        match = _CAP.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a cap like 1/24h or 3/7d")
        count, amount, unit = int(match[1]), int(match[2]), match[3]
        period = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
        if count < 1 or period <= timedelta(0):
            raise ValueError(f"{text!r}: count and period must be positive")
        return cls(count, period)

    def release(self, nth_most_recent: datetime | None) -> datetime | None:
        """When the next message may go, given the count-th most recent hand-off inside
        the period (None when there are fewer than `count`): it ages out of the period."""
        return None if nth_most_recent is None else nth_most_recent + self.period


@lru_cache(maxsize=4096)
def us_state(phone: str | None) -> str | None:
    """The US state an area code belongs to ('FL'), or None outside the US or unknown."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    return state_for_area_code(str(number.national_number)[:3])


@dataclass(frozen=True)
class SendingPolicy:
    quiet_hours: dict[Channel, SendWindow] = field(default_factory=dict)
    state_sms_hours: dict[str, SendWindow] = field(default_factory=dict)
    caps: dict[Channel, FrequencyCap] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SendingPolicy:
        quiet = {
            channel: parse_hours(text)
            for channel, text in (
                (Channel.SMS, settings.sms_quiet_hours),
                (Channel.EMAIL, settings.email_quiet_hours),
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
        quiet hours and, for SMS, the stricter hours of the lead's state."""
        windows = [step.window.window()] if step.window else []
        if step.channel in self.quiet_hours:
            windows.append(self.quiet_hours[step.channel])
        if step.channel is Channel.SMS:
            state = us_state(phone)
            if state in self.state_sms_hours:
                windows.append(self.state_sms_hours[state])
        return tuple(windows)

    def cap_release(
        self, channel: Channel, recent: list[datetime], now: datetime
    ) -> datetime | None:
        """When the cap lets the next message out, or None if it may go now."""
        cap = self.caps.get(channel)
        if cap is None:
            return None
        inside = sorted(t for t in recent if t > now - cap.period)
        return cap.release(inside[-cap.count] if len(inside) >= cap.count else None)
