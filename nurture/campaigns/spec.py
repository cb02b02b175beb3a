"""The campaign-as-code schema: what `campaign.yaml` may say, checked field by field."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nurture.channel import Channel
from nurture.hours import SMS_LEGAL_HOURS, SendWindow
from nurture.languages import DEFAULT_LANGUAGE, LANGUAGES

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


class StepTranslation(_Strict):
    """A step's words in another language the campaign writes in."""

    template: str = Field(pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None


class StepSpec(_Strict):
    key: StepKey
    delay: str
    channel: Channel
    template: str = Field(pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None
    condition: Condition | None = None
    window: WindowSpec | None = None
    # The step in the campaign's other languages, by language code ("es").
    translations: dict[str, StepTranslation] = Field(default_factory=dict)

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
        for language, words in self.translations.items():
            if self.channel is Channel.EMAIL and not words.subject:
                raise ValueError(f"translations.{language}: an email step needs a subject")
            if self.channel is Channel.SMS and (words.subject or words.preheader):
                raise ValueError(f"translations.{language}: an SMS step has no subject")
        windows = self.windows()
        if windows and max(w.start for w in windows) >= min(w.end for w in windows):
            raise ValueError("the window never overlaps SMS quiet hours (08:00-21:00)")
        return self

    @property
    def offset(self) -> timedelta:
        return parse_delay(self.delay)

    def in_language(self, language: str) -> StepSpec:
        """The step as it is written in `language` (itself when it has no translation)."""
        words = self.translations.get(language)
        if words is None:
            return self
        return self.model_copy(
            update={
                "template": words.template,
                "subject": words.subject,
                "preheader": words.preheader,
            }
        )

    def template_files(self) -> list[str]:
        """Every template file the step names: its own, then its translations'."""
        return [self.template, *(words.template for words in self.translations.values())]

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
    # The languages the campaign writes in; the first is the steps' own, each other one
    # needs a translation in every step. A lead in another language gets the first.
    languages: list[str] = Field(default_factory=lambda: [DEFAULT_LANGUAGE], min_length=1)
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

    @model_validator(mode="after")
    def _every_language_is_written(self) -> CampaignSpec:
        unknown = [language for language in self.languages if language not in LANGUAGES]
        if unknown:
            raise ValueError(f"languages: we write in {', '.join(LANGUAGES)}, not {unknown[0]!r}")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: a language is named twice")
        others = set(self.languages[1:])
        for index, step in enumerate(self.steps):
            if missing := sorted(others - set(step.translations)):
                raise ValueError(
                    f"steps[{index}].translations.{missing[0]}: missing; the campaign "
                    f"declares {missing[0]} in languages"
                )
            if extra := sorted(set(step.translations) - others):
                raise ValueError(
                    f"steps[{index}].translations.{extra[0]}: {extra[0]} is not one of the "
                    f"campaign's other languages ({', '.join(sorted(others)) or 'none'})"
                )
        return self

    def language_for(self, language: str | None) -> str:
        """The language a lead who reads `language` is written to in by this campaign."""
        if language is not None and language in self.languages:
            return language
        return self.languages[0]

    def template_files(self) -> list[str]:
        """Every template file the campaign names, each once, in step order."""
        return list(dict.fromkeys(f for step in self.steps for f in step.template_files()))

    def step(self, key: str) -> StepSpec:
        return next(s for s in self.steps if s.key == key)

    def step_after(self, key: str) -> StepSpec | None:
        keys = [s.key for s in self.steps]
        index = keys.index(key)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None
