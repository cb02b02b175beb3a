"""The clinic settings form: what it shows, and checking what staff typed into it.

A checked form yields the fields that changed (old and new value, for the audit log),
split into the clinic profile (nurture.clinic.profile) and the screening hours
(nurture.booking.availability, which owns them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from nurture.booking.availability import (
    WEEKDAYS,
    Availability,
    AvailabilityError,
    Weekday,
    parse_availability,
)
from nurture.channel import Channel
from nurture.clinic.conflicts import sending_hours_conflicts
from nurture.clinic.profile import CHECKS
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy

LABELS = {
    "clinic_name": "Clinic name",
    "clinic_address": "Address",
    "clinic_phone": "Phone",
    "clinic_timezone": "Time zone",
    "sms_sending_hours": "SMS quiet hours",
    "email_sending_hours": "Email quiet hours",
    **{f"hours_{day}": f"{day.capitalize()} screening hours" for day in WEEKDAYS},
}
QUIET_FIELDS = {Channel.SMS: "sms_sending_hours", Channel.EMAIL: "email_sending_hours"}
FIELD_LIMIT = 1000


def hours_field(day: Weekday) -> str:
    """The form field holding one weekday's screening hours."""
    return f"hours_{day}"


def change_label(name: str) -> str:
    """The form label of a field as the audit log names its change."""
    day = name.removeprefix("screening_hours.")
    return LABELS[f"hours_{day}" if day != name else name]


def _day_text(availability: Availability, day: Weekday) -> str:
    return ", ".join(availability.weekly_hours.get(day, ()))


def form_values(settings: Settings, availability: Availability) -> dict[str, str]:
    """The form filled in with the settings in force."""
    values = {name: str(getattr(settings, name)) for name in CHECKS}
    for day in WEEKDAYS:
        values[hours_field(day)] = _day_text(availability, day)
    return values


@dataclass
class CheckedForm:
    """A submitted form: problems by field, or the changes to save."""

    problems: dict[str, str] = field(default_factory=dict)
    profile: dict[str, str] = field(default_factory=dict)  # Settings field -> new value
    availability: Availability | None = None  # set when screening hours changed
    changes: dict[str, dict[str, str]] = field(default_factory=dict)  # for the audit log

    def problem_list(self) -> list[str]:
        """Each problem prefixed with its field's label, in form order."""
        return [
            f"{LABELS[name]}: {self.problems[name]}" for name in LABELS if name in self.problems
        ]


def _day_problem(problem: str, day: str) -> str:
    for prefix in ("availability: ", "weekly_hours: ", f"weekly_hours.{day}: ", f"{day}: "):
        problem = problem.removeprefix(prefix)
    return problem


def _check_hours(
    typed: Mapping[str, str], current: Availability, result: CheckedForm
) -> dict[str, list[str]]:
    base = current.model_dump(mode="json")
    weekly: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        ranges = [part.strip() for part in typed.get(hours_field(day), "").split(",")]
        weekly[day] = [part for part in ranges if part]
        try:
            checked = parse_availability({**base, "weekly_hours": {day: weekly[day]}})
        except AvailabilityError as exc:
            result.problems[hours_field(day)] = "; ".join(
                _day_problem(p, day) for p in exc.problems
            )
            continue
        weekly[day] = list(checked.weekly_hours.get(day, ()))
    return weekly


def check_form(
    session: Session, typed: Mapping[str, str], current: Settings, availability: Availability
) -> CheckedForm:
    """Check every field of a submitted form against the settings in force."""
    result = CheckedForm()
    typed = {name: value[:FIELD_LIMIT] for name, value in typed.items()}
    for name, check in CHECKS.items():
        try:
            value = check(typed.get(name, ""))
        except ValueError as exc:
            result.problems[name] = str(exc)
            continue
        old = str(getattr(current, name))
        if value != old:
            result.profile[name] = value
            result.changes[name] = {"old": old, "new": value}
    weekly = _check_hours(typed, availability, result)
    if result.problems:
        return result
    new_hours = parse_availability({**availability.model_dump(mode="json"), "weekly_hours": weekly})
    if new_hours != availability:
        result.availability = new_hours
        for day in WEEKDAYS:
            old, new = _day_text(availability, day), _day_text(new_hours, day)
            if old != new:
                result.changes[f"screening_hours.{day}"] = {"old": old, "new": new}
    if {"sms_sending_hours", "email_sending_hours"} & result.profile.keys():
        policy = SendingPolicy.from_settings(current.model_copy(update=result.profile))
        for channel, text in sending_hours_conflicts(session, policy):
            name = QUIET_FIELDS[channel]
            result.problems[name] = "; ".join(filter(None, (result.problems.get(name), text)))
    return result
