"""When a step is due, the one place: the dispatcher's advance, enrolment, step-edit
migration, a lead's timeline in the console and the campaign dry-run timeline (CLI and
console) all time steps here.

A step is due at enrollment + delay (in UTC, so "2d" means 48 real hours across a
daylight-saving change), moved forward to the first moment inside every window that
applies to it (nurture.sequences.schedule) in the lead's local time. The dry run
then applies the frequency cap as the gate would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nurture.campaigns.conditions import (
    OPENS_NOTHING,
    Behaviour,
    History,
    StepRecord,
    decide,
    rules_for,
)
from nurture.campaigns.spec import WEEKDAYS, CampaignSpec, StepSpec
from nurture.channel import Channel
from nurture.consent.policy import SendingPolicy
from nurture.hours import SendWindow
from nurture.sequences.schedule import is_allowed, next_allowed
from nurture.text import local_time

CHANNEL_LABEL = {Channel.SMS: "SMS", Channel.EMAIL: "email"}


def due_at(
    enrolled_at: datetime,
    step: StepSpec,
    zone: ZoneInfo,
    windows: Sequence[SendWindow] | None = None,
) -> datetime:
    """When `step` is due for a lead enrolled at `enrolled_at` living in `zone`.

    `windows` come from the sending policy; without them the step's own window and
    the legal SMS hours apply.
    """
    chosen = step.windows() if windows is None else windows
    return next_allowed(enrolled_at.astimezone(UTC) + step.offset, zone, chosen)


def step_due(
    enrolled_at: datetime,
    step: StepSpec,
    zone: ZoneInfo,
    policy: SendingPolicy,
    phone: str | None,
) -> datetime:
    """When `step` is due for a lead with this phone (their state's SMS hours apply)."""
    return due_at(enrolled_at, step, zone, policy.windows(step, phone))


@dataclass(frozen=True, slots=True)
class PlannedStep:
    step: StepSpec
    nominal: datetime  # enrollment + delay, before any window moved it
    due: datetime  # when it goes out
    moved_by: tuple[str, ...]  # why it is later than nominal
    skipped: str | None  # why the gate would skip it for this lead
    branch: str | None = None  # why its branch is taken, when it has one

    def day(self, enrolled_at: datetime, zone: ZoneInfo) -> int:
        """Which day after sign-up it goes out on, by the lead's calendar (sign-up is day 0)."""
        return (self.due.astimezone(zone).date() - enrolled_at.astimezone(zone).date()).days

    def moved_note(self, zone: ZoneInfo) -> str | None:
        """'moved from <nominal time>: outside <windows>', when a window moved it."""
        if not self.moved_by:
            return None
        return f"moved from {local_time(self.nominal, zone)}: outside " + " and ".join(
            self.moved_by
        )


def describe_window(window: SendWindow, policy: SendingPolicy, step: StepSpec) -> str:
    """'SMS quiet hours 08:00-21:00' or 'step window 10:00-18:00 Mon-Sat'."""
    if step.window is not None and window == step.window.window():
        days = sorted(window.days)
        if len(days) == 7:
            label = ""
        elif days == list(range(days[0], days[-1] + 1)):
            label = f" {WEEKDAYS[days[0]].title()}-{WEEKDAYS[days[-1]].title()}"
        else:
            label = " " + ",".join(WEEKDAYS[d].title() for d in days)
        return f"step window {window.label()}{label}"
    if window == policy.sending_hours.get(step.channel):
        return f"{CHANNEL_LABEL[step.channel]} quiet hours {window.label()}"
    return f"the lead's state's SMS hours {window.label()}"


def _skip_reason(step: StepSpec, sms_consent: bool) -> str | None:
    if sms_consent:
        return None
    if step.channel is Channel.SMS:
        return "no sms consent"
    if step.condition == "sms_consent":
        return "condition not met: sms_consent"
    return None


def plan_steps(
    spec: CampaignSpec,
    enrolled_at: datetime,
    zone: ZoneInfo,
    policy: SendingPolicy,
    *,
    phone: str | None,
    sms_consent: bool,
    behaviour: Behaviour = OPENS_NOTHING,
) -> list[PlannedStep]:
    """Every step, timed from the enrollment as the dispatcher times it, then the cap.

    Branches are decided as the gate decides them, from what `behaviour` does with
    each message the lead is sent: the path this lead takes."""
    planned = []
    handed_off: dict[Channel, list[datetime]] = {}
    did: dict[str, StepRecord] = {}
    for step in spec.steps:
        windows = policy.windows(step, phone)
        nominal = enrolled_at + step.offset
        due = due_at(enrolled_at, step, zone, windows)
        moved = tuple(
            describe_window(w, policy, step) for w in windows if not is_allowed(nominal, zone, [w])
        )
        skipped = _skip_reason(step, sms_consent)
        branch = None
        rules = rules_for(spec, step.key)
        if skipped is None and rules is not None:
            verdict = decide(rules, History(enrolled_at, dict(did)), due, zone)
            branch, skipped = (verdict.reason, None) if verdict.taken else (None, verdict.reason)
        if skipped is None and policy.capped(step):
            # The gate holds a message over the frequency cap until the cap lets it out.
            sent = handed_off.setdefault(step.channel, [])
            release = policy.cap_release(step.channel, sent, due)
            if release is not None and release > due:
                due = next_allowed(release, zone, windows)
                cap = policy.caps[step.channel]
                moved += (f"the {step.channel.value} frequency cap ({cap.count} per {cap.period})",)
            sent.append(due)
        if skipped is None:
            did[step.key] = behaviour.record(step, due)
        planned.append(PlannedStep(step, nominal, due, moved, skipped, branch))
    return planned
