"""The campaign-as-code schema: what `campaign.yaml` may say, checked field by field."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nurture.campaigns.conditions import path_problems
from nurture.channel import Channel
from nurture.hours import SMS_LEGAL_HOURS, SendWindow
from nurture.languages import DEFAULT_LANGUAGE, LANGUAGES

DELAY_PATTERN = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Condition = Literal["sms_consent", "email_consent"]
# A step a person does instead of a message (nurture.replies.call_backs): the front desk
# calls the lead. Its template is the note the desk reads, in the campaign's first language.
Task = Literal["call_back"]
# How staff read a step's medium (StepSpec.medium) on every page and in the CLI.
MEDIUM_NAMES = {"email": "Email", "sms": "SMS", "call": "Call back"}


def medium_name(medium: str) -> str:
    """'Email', 'SMS' or 'Call back' for a step's medium."""
    return MEDIUM_NAMES.get(medium, medium)


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


class VariantWords(_Strict):
    """What a variant says differently in one language; a field left out keeps the step's."""

    template: str | None = Field(None, pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None

    def overrides(self) -> bool:
        return any(v is not None for v in (self.template, self.subject, self.preheader))


class StepVariant(_Strict):
    """One arm of a step's A/B test: its share of leads and what it changes.

    Its own fields are in the campaign's first language; `translations` holds the
    others, needed whenever the variant changes anything (a variant changing nothing
    is the control: the step as written)."""

    key: StepKey
    weight: int = Field(gt=0, le=10_000)
    template: str | None = Field(None, pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None
    translations: dict[str, VariantWords] = Field(default_factory=dict)

    def own_words(self) -> VariantWords:
        """What the variant changes in the campaign's first language."""
        return VariantWords(template=self.template, subject=self.subject, preheader=self.preheader)

    def overrides(self) -> bool:
        return self.own_words().overrides()

    def every_words(self) -> list[VariantWords]:
        """Its changes in every language it is written in: its own first."""
        return [self.own_words(), *self.translations.values()]


PromoteMetric = Literal["clicks", "opens", "bookings"]
Engagement = Literal["opened", "clicked", "not_opened", "not_clicked"]
ENGAGEMENTS: tuple[Engagement, ...] = ("opened", "clicked", "not_opened", "not_clicked")


class PromoteSpec(_Strict):
    """When a step's test ends by itself: the winner on `metric`, once every variant has
    `min_sample` messages sent and the difference holds at `confidence`."""

    metric: PromoteMetric
    min_sample: int = Field(ge=1, le=10_000_000)
    confidence: float = Field(0.95, ge=0.5, lt=1.0)


class StepIf(_Strict):
    """A step's `if:`: what the lead must have done (or not) for the step to go out.

    Every clause given must hold; nurture.campaigns.conditions says what each means."""

    opened: StepKey | None = None
    clicked: StepKey | None = None
    not_opened: StepKey | None = None
    not_clicked: StepKey | None = None
    # Counted from that step's send: "opened it within 3d of getting it".
    within: str | None = None
    replied: bool | None = None  # a text or email from the lead since they enrolled
    booked: Literal[False] | None = None

    @field_validator("within")
    @classmethod
    def _within_parses(cls, value: str | None) -> str | None:
        if value is not None and parse_delay(value) <= timedelta(0):
            raise ValueError("within must be longer than 0m")
        return value

    @model_validator(mode="after")
    def _one_step_clause(self) -> StepIf:
        clauses = self.step_clauses()
        if len(clauses) > 1:
            raise ValueError(f"name one of {', '.join(ENGAGEMENTS)}, not {len(clauses)}")
        if self.within is not None and not clauses:
            raise ValueError(f"within needs a step to count from ({', '.join(ENGAGEMENTS)})")
        if not clauses and self.replied is None and self.booked is None:
            raise ValueError(f"name what the lead did: {', '.join(ENGAGEMENTS)}, replied or booked")
        return self

    def step_clauses(self) -> list[tuple[Engagement, str]]:
        """(what, step key) of the clause about an earlier step: at most one."""
        return [(name, key) for name in ENGAGEMENTS if (key := getattr(self, name)) is not None]

    @property
    def within_delta(self) -> timedelta | None:
        return parse_delay(self.within) if self.within is not None else None


class StepSpec(_Strict):
    key: StepKey
    delay: str
    channel: Channel
    task: Task | None = None
    template: str = Field(pattern=r"^[\w.-]+$")
    subject: str | None = None
    preheader: str | None = None
    condition: Condition | None = None
    window: WindowSpec | None = None
    # The step in the campaign's other languages, by language code ("es").
    translations: dict[str, StepTranslation] = Field(default_factory=dict)
    # An A/B test: each lead gets one variant, chosen by weight (nurture.campaigns.variants).
    variants: list[StepVariant] = Field(default_factory=list)
    promote: PromoteSpec | None = None
    # A branch (nurture.campaigns.conditions): `if:` in YAML, since `if` is Python's own.
    if_: StepIf | None = Field(None, alias="if")
    goto: StepKey | None = None  # once this step is sent, the sequence goes on here
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _a_task_is_about_the_phone(cls, data: object) -> object:
        # A call-back reaches the lead on the phone the texts go to: its gate (a number
        # on file, no STOP, SMS consent) is a text's, so the channel need not be written.
        if isinstance(data, dict) and data.get("task") is not None and "channel" not in data:
            return {**data, "channel": Channel.SMS.value}
        return data

    @field_validator("delay")
    @classmethod
    def _delay_parses(cls, value: str) -> str:
        parse_delay(value)
        return value

    @model_validator(mode="after")
    def _task_is_no_message(self) -> StepSpec:
        if self.task is None:
            return self
        if self.channel is not Channel.SMS:
            raise ValueError("channel: a call-back is made to the lead's phone; leave it out")
        if self.subject or self.preheader:
            raise ValueError("a task step has no subject or preheader: its template is the note")
        if self.variants or self.promote:
            raise ValueError("variants: a task step has nobody to A/B test on")
        if self.translations:
            raise ValueError(
                "translations: a task's note is read by the front desk, in the campaign's "
                "first language"
            )
        return self

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
        self._variants_fit()
        windows = self.windows()
        if windows and max(w.start for w in windows) >= min(w.end for w in windows):
            raise ValueError("the window never overlaps SMS quiet hours (08:00-21:00)")
        return self

    def _variants_fit(self) -> None:
        if not self.variants:
            if self.promote is not None:
                raise ValueError("promote: only a step with variants has a winner to promote")
            return
        if len(self.variants) < 2:
            raise ValueError("variants: an A/B test needs at least two variants")
        keys = [variant.key for variant in self.variants]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                raise ValueError(f"variants[{index}].key {key!r} is used twice")
        if self.channel is Channel.SMS:
            for index, variant in enumerate(self.variants):
                for words in variant.every_words():
                    if words.subject is not None or words.preheader is not None:
                        raise ValueError(
                            f"variants[{index}]: an SMS step has no subject or preheader"
                        )
            if self.promote is not None and self.promote.metric == "opens":
                raise ValueError("promote.metric: texts report no opens; use clicks or bookings")

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

    def variant(self, key: str | None) -> StepVariant | None:
        """The variant named `key` (None when the step has no such variant)."""
        return next((v for v in self.variants if v.key == key), None)

    def written(self, language: str, variant: str | None = None) -> StepSpec:
        """The step as a lead receives it: in `language`, with `variant`'s changes."""
        step = self.in_language(language)
        chosen = self.variant(variant)
        if chosen is None:
            return step
        # The first language's words are the variant's own; no entry means that language.
        words = chosen.translations.get(language) or chosen.own_words()
        changes = {
            name: value
            for name in ("template", "subject", "preheader")
            if (value := getattr(words, name)) is not None
        }
        return step.model_copy(update=changes) if changes else step

    def template_files(self) -> list[str]:
        """Every template file the step names: its own, its translations', its variants'."""
        variant_files = [
            words.template
            for variant in self.variants
            for words in variant.every_words()
            if words.template is not None
        ]
        return [
            self.template,
            *(words.template for words in self.translations.values()),
            *variant_files,
        ]

    @property
    def medium(self) -> str:
        """How the step reaches the lead, as staff read it: email, sms, or call (the
        front desk phones them: a call_back task)."""
        return "call" if self.task == "call_back" else self.channel.value

    def windows(self) -> list[SendWindow]:
        """Every window this step must fall in: its own, plus the sending hours for SMS.

        A task sends the lead nothing: only its own window (the desk's hours) applies."""
        windows = [self.window.window()] if self.window else []
        if self.channel is Channel.SMS and self.task is None:
            windows.append(SMS_LEGAL_HOURS)
        return windows


CampaignSlug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
# What may start a follow-up campaign (nurture.sequences.follow_up hooks each one).
TriggerEvent = Literal["sequence_ended_without_booking", "booking_cancelled", "no_show"]
ENDED_WITHOUT_BOOKING: TriggerEvent = "sequence_ended_without_booking"


class AudienceSpec(_Strict):
    """Who a campaign takes: every field given must hold for the lead (none given: anyone)."""

    language: str | None = None
    sms_consent: bool | None = None
    email_consent: bool | None = None

    @field_validator("language")
    @classmethod
    def _language_is_ours(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"we write in {', '.join(LANGUAGES)}, not {value!r}")
        return value

    def matches(self, language: str, consent: dict[Channel, bool]) -> bool:
        """Whether a lead reading `language` with this consent in force is in the audience."""
        wanted = (
            (self.language, language),
            (self.sms_consent, consent.get(Channel.SMS, False)),
            (self.email_consent, consent.get(Channel.EMAIL, False)),
        )
        return all(rule is None or rule == value for rule, value in wanted)


class TriggerSpec(_Strict):
    """An event that enrols a lead in this campaign, its first step counted from `delay`
    after the event; `campaign` names whose sequence must end, for that event."""

    event: TriggerEvent
    delay: str = "0m"
    campaign: CampaignSlug | None = None

    @field_validator("delay")
    @classmethod
    def _delay_parses(cls, value: str) -> str:
        parse_delay(value)
        return value

    @model_validator(mode="after")
    def _campaign_fits_event(self) -> TriggerSpec:
        if self.event == ENDED_WITHOUT_BOOKING and self.campaign is None:
            raise ValueError(f"campaign: {self.event} needs the campaign whose sequence ends")
        if self.event != ENDED_WITHOUT_BOOKING and self.campaign is not None:
            raise ValueError(f"campaign: only {ENDED_WITHOUT_BOOKING} names a campaign")
        return self

    @property
    def wait(self) -> timedelta:
        return parse_delay(self.delay)


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
    # Who the campaign takes, when an article names several (nurture.leads.capture) or an
    # event would start it; left out, anyone.
    audience: AudienceSpec | None = None
    # A follow-up campaign: the events that enrol a lead (once), each after its delay.
    starts_on: list[TriggerSpec] = Field(default_factory=list)
    steps: list[StepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _triggers_are_distinct(self) -> CampaignSpec:
        seen: set[tuple[str, str | None]] = set()
        for index, trigger in enumerate(self.starts_on):
            if trigger.campaign == self.slug:
                raise ValueError(f"starts_on[{index}].campaign: a campaign cannot follow itself")
            if (trigger.event, trigger.campaign) in seen:
                raise ValueError(f"starts_on[{index}]: the same event is named twice")
            seen.add((trigger.event, trigger.campaign))
        return self

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
    def _branches_lead_somewhere(self) -> CampaignSpec:
        problems = path_problems(self.steps)
        if problems:
            raise ValueError("; ".join(problems))
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
            if step.task is not None:
                continue  # the front desk's note, in the first language (_task_is_no_message)
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
            for number, variant in enumerate(step.variants):
                where = f"steps[{index}].variants[{number}].translations"
                if variant.overrides() and (missing := sorted(others - set(variant.translations))):
                    raise ValueError(
                        f"{where}.{missing[0]}: missing; the variant changes the step and the "
                        f"campaign declares {missing[0]} in languages"
                    )
                if extra := sorted(set(variant.translations) - others):
                    raise ValueError(
                        f"{where}.{extra[0]}: {extra[0]} is not one of the campaign's other "
                        f"languages ({', '.join(sorted(others)) or 'none'})"
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
