"""The campaign-as-code schema: what `campaign.yaml` may say, checked field by field."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nurture.channel import Channel
from nurture.hours import SMS_LEGAL_HOURS, SendWindow

DELAY_PATTERN = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Condition = Literal["sms_consent", "email_consent"]
StepKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]


def parse_delay(text: str) -> timedelta:
    """'2d4h', '90m', '0m' -> timedelta; raises ValueError naming the format."""
    match = DELAY_PATTERN.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a delay: use e.g. 0m, 45m, 2h, 3d or 2d4h")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    start: time
    end: time
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> WindowSpec:
        if self.start >= self.end:
            raise ValueError("start must be before end (windows cannot cross midnight)")
        if not self.days:
            raise ValueError("days must name at least one weekday")
        return self

    def window(self) -> SendWindow:
        return SendWindow(self.start, self.end, frozenset(WEEKDAYS.index(d) for d in self.days))


class StepSpec(_Strict):
    key: StepKey
    delay: str
    channel: Channel
    template: str = Field(pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None
    condition: Condition | None = None
    window: WindowSpec | None = None

    @field_validator("delay")
    @classmethod
    def _delay_parses(cls, value: str) -> str:
        parse_delay(value)
        return value

    @model_validator(mode="after")
    def _fields_fit_channel(self) -> StepSpec:
        if self.channel is Channel.EMAIL and not self.subject:
            raise ValueError("an email step needs a subject")
        if self.channel is Channel.SMS and (self.subject or self.preheader):
            raise ValueError("an SMS step has no subject or preheader")
        windows = self.windows()
        if windows and max(w.start for w in windows) >= min(w.end for w in windows):
            raise ValueError("the window never overlaps SMS quiet hours (08:00-21:00)")
        return self

    @property
    def offset(self) -> timedelta:
        return parse_delay(self.delay)

    def windows(self) -> list[SendWindow]:
        """Every window this step must fall in: its own, plus the sending hours for SMS."""
        windows = [self.window.window()] if self.window else []
        if self.channel is Channel.SMS:
            windows.append(SMS_LEGAL_HOURS)
        return windows


class CampaignSpec(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    article: str | None = None
    exit_goal: Literal["booked_screening"] = "booked_screening"
    # Double opt-in: a new address gets an email asking to confirm it, and the sequence
    # starts (from that moment) only once the link in it is clicked.
    double_opt_in: bool = False
    sms_max_segments: int = Field(2, ge=1, le=10)
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_are_ordered(self) -> CampaignSpec:
        seen: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.key in seen:
                raise ValueError(f"steps[{index}].key {step.key!r} is used twice")
            seen.add(step.key)
            if index and step.offset < self.steps[index - 1].offset:
                raise ValueError(
                    f"steps[{index}].delay {step.delay} is earlier than the step before it: "
                    "delays count from sign-up, so they may not go down"
                )
        return self

    def step(self, key: str) -> StepSpec:
        return next(s for s in self.steps if s.key == key)

    def step_after(self, key: str) -> StepSpec | None:
        keys = [s.key for s in self.steps]
        index = keys.index(key)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None
