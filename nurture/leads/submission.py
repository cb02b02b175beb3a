"""What a prospect submits, checked field by field (shared by the form and the API)."""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from nurture.languages import LANGUAGES, language_of
from nurture.leads.zone import valid_zone

DEFAULT_PHONE_REGION = "US"
Kind = phonenumbers.PhoneNumberType
# Numbers that are not a person's own phone: calling them costs the caller, or no one answers.
NOT_PERSONAL = {
    Kind.PREMIUM_RATE: "a premium-rate number",
    Kind.SHARED_COST: "a shared-cost number",
    Kind.UAN: "a company switchboard number",
    Kind.VOICEMAIL: "a voicemail access number",
    Kind.PAGER: "a pager number",
}
# Personal numbers that cannot take a text message.
NO_TEXTS = {Kind.FIXED_LINE: "a landline", Kind.TOLL_FREE: "a toll-free number"}
UNREADABLE = ("\x00", "\ufffd")  # a NUL, or what undecodable bytes turned into


class ConsentChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: bool = False
    sms: bool = False


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 for a valid number, else ValueError saying what is wrong."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    kind = NOT_PERSONAL.get(phonenumbers.number_type(number))
    if kind:
        raise ValueError(f"is {kind}, not a personal phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def cannot_text(e164: str) -> str | None:
    """Why this number cannot receive texts ('a landline'), or None when it can."""
    return NO_TEXTS.get(phonenumbers.number_type(phonenumbers.parse(e164)))


def normalise_email(value: str) -> str:
    """The normalised address (lower-cased domain), or ValueError with the reason."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


class LeadSubmission(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    article: str = Field(min_length=1, max_length=120)
    first_name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=320)
    phone: str | None = Field(None, max_length=40)
    timezone: str | None = Field(None, max_length=64)
    # The language to write to the lead in ("en", "es"; a tag like "es-MX" is read as
    # "es"); None: the default, or the browser's for the download form.
    language: str | None = Field(None, max_length=35)
    # The clinic of a group the lead chose (a location's slug, as in ?location=); None:
    # the one nearest their ZIP code or area code, else the default.
    location: str | None = Field(None, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    zip_code: str | None = Field(None, max_length=10, pattern=r"^\d{5}(-\d{4})?$")
    consent: ConsentChoice = Field(default_factory=ConsentChoice)

    @field_validator(
        "article",
        "first_name",
        "email",
        "phone",
        "timezone",
        "language",
        "location",
        "zip_code",
        mode="before",
    )
    @classmethod
    def _readable(cls, value: object) -> object:
        # Bytes that were not UTF-8 arrive as U+FFFD: refuse them rather than store them.
        if isinstance(value, str) and any(mark in value for mark in UNREADABLE):
            raise ValueError("has characters that could not be read; please type it again")
        return value

    @field_validator("location", "zip_code", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty select or box on a form, or "" in a JSON body, means "not given".
        return value.strip().lower() or None if isinstance(value, str) else value

    @field_validator("first_name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        if any(unicodedata.category(c).startswith("C") for c in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value and valid_zone(value) is None:
            raise ValueError(f"unknown time zone {value!r}")
        return value or None

    @field_validator("language")
    @classmethod
    def _written_language(cls, value: str | None) -> str | None:
        if not value:
            return None
        language = language_of(value)
        if language is None:
            raise ValueError(f"we write in {' and '.join(LANGUAGES)}; {value!r} is neither")
        return language

    @field_validator("consent")
    @classmethod
    def _consent_is_coherent(cls, value: ConsentChoice, info: ValidationInfo) -> ConsentChoice:
        if not value.email:
            raise ValueError("email consent is required to receive the guide and emails")
        phone = info.data.get("phone")
        if value.sms and not phone:
            # "phone" is absent from info.data both when empty and when invalid.
            raise ValueError("text messages need a valid mobile number in phone")
        if value.sms and phone and (kind := cannot_text(phone)):
            raise ValueError(f"text messages need a mobile number; this one is {kind}")
        return value
