"""Branches: a step's `if:` (what the lead did with earlier steps) and `goto:` (once this
step is sent, go on at a later one), and what they mean.

One meaning for both readers: the gate decides at send time from the lead's recorded
history (nurture.messages.history loads it, set-based, with the batch), and the dry run
from a behaviour staff pick ("opens nothing", "clicks anatomy-link").

A `goto` is followed when its step is sent: each step it passes over still gets its row
and is skipped with the reason (invariant 2). Everything is read by step key, so a step
edit that keeps the keys keeps every enrolled lead on the path they are on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nurture.channel import Channel

if TYPE_CHECKING:  # the spec imports this module to check its paths
    from nurture.campaigns.spec import CampaignSpec, StepIf, StepSpec


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What became of one earlier step's message for the lead."""

    sent_at: datetime | None = None  # handed off; None: skipped, failed or not yet due
    opened_at: datetime | None = None  # the first open
    clicked_at: datetime | None = None  # the first click on one of its links


@dataclass(frozen=True, slots=True)
class History:
    """What the lead did since enrolling, by step key."""

    enrolled_at: datetime
    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    replied_at: datetime | None = None  # the first text or email from them since
    booked: bool = False


@dataclass(frozen=True, slots=True)
class Jump:
    """A `goto`: once `origin` is sent, the steps before `target` are passed over."""

    origin: str
    target: str


@dataclass(frozen=True, slots=True)
class BranchRules:
    """A step's branch rules: its own `if`, and the gotos that would pass over it."""

    condition: StepIf | None
    passed_by: tuple[Jump, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    taken: bool
    reason: str  # "branch taken: ..." or why not; stored on the message either way


def rules_for(spec: CampaignSpec, key: str) -> BranchRules | None:
    """The branch rules of step `key`; None when it has none (it always goes)."""
    keys = [step.key for step in spec.steps]
    here = keys.index(key)
    passed_by = tuple(
        Jump(step.key, step.goto)
        for index, step in enumerate(spec.steps[:here])
        if step.goto is not None and keys.index(step.goto) > here
    )
    condition = spec.steps[here].if_
    if condition is None and not passed_by:
        return None
    return BranchRules(condition, passed_by)


def decide(rules: BranchRules, history: History, now: datetime, zone: ZoneInfo) -> Verdict:
    """Whether the step goes out on this lead's path, and why, as of `now`."""
    for jump in rules.passed_by:
        record = history.steps.get(jump.origin)
        if record is not None and record.sent_at is not None:
            return Verdict(False, f"jumped over: {jump.origin} was sent, then goto {jump.target}")
    condition = rules.condition
    held = [f"{jump.origin} was not sent" for jump in rules.passed_by]
    if condition is None:
        return Verdict(True, "on this path: " + " and ".join(held))
    for holds, text in _clauses(condition, history, now, zone):
        if not holds:
            return Verdict(False, f"branch not taken: {text}")
        held.append(text)
    return Verdict(True, "branch taken: " + " and ".join(held))


def _clauses(
    condition: StepIf, history: History, now: datetime, zone: ZoneInfo
) -> list[tuple[bool, str]]:
    """(holds, what the lead did) for each clause of the condition."""
    found: list[tuple[bool, str]] = []
    within = condition.within_delta
    for what, key in condition.step_clauses():
        record = history.steps.get(key)
        verb = "opened" if what.endswith("opened") else "clicked"
        at = _engaged(record, verb, within, now)
        if at is not None:
            text = f"{verb} {key} on day {_day(at, history, zone)}"
        elif record is None or record.sent_at is None:
            text = f"{key} was not sent"
        else:
            text = f"{key} not {verb}" + (f" within {condition.within}" if within else "")
        found.append(((at is not None) != what.startswith("not_"), text))
    if condition.replied is not None:
        replied = history.replied_at
        text = f"replied on day {_day(replied, history, zone)}" if replied else "has not replied"
        found.append(((replied is not None) == condition.replied, text))
    if condition.booked is not None:
        found.append((history.booked == condition.booked, _booked(history.booked)))
    return found


def _booked(booked: bool) -> str:
    return "booked a screening" if booked else "has not booked"


def _engaged(
    record: StepRecord | None, verb: str, within: timedelta | None, now: datetime
) -> datetime | None:
    """When the lead opened (or clicked) the step's message, if they did in time."""
    if record is None or record.sent_at is None:
        return None
    at = record.opened_at if verb == "opened" else record.clicked_at
    if at is None or at > now:
        return None
    if within is not None and at > record.sent_at + within:
        return None
    return at


def _day(moment: datetime, history: History, zone: ZoneInfo) -> int:
    """The day after sign-up, by the lead's calendar (sign-up is day 0)."""
    return (moment.astimezone(zone).date() - history.enrolled_at.astimezone(zone).date()).days


def path_problems(steps: Sequence[StepSpec]) -> list[str]:
    """What is wrong with the campaign's branches, each naming its field; [] when none.

    Conditions may only ask about earlier steps, a goto only jumps forward (so there is
    no loop to end), and every step must be on some lead's path."""
    index = {step.key: number for number, step in enumerate(steps)}
    problems: list[str] = []
    for number, step in enumerate(steps):
        where = f"steps[{number}]"
        condition = step.if_
        for what, key in condition.step_clauses() if condition else []:
            if key not in index:
                problems.append(f"{where}.if.{what}: no step {key!r} in this campaign")
            elif index[key] >= number:
                problems.append(
                    f"{where}.if.{what}: {key} does not come before this step, so the lead "
                    "cannot have done anything with it yet"
                )
            elif condition is not None and (within := condition.within_delta) is not None:
                earlier = steps[index[key]]
                if step.offset < earlier.offset + within:
                    problems.append(
                        f"{where}.if.within: {condition.within} after {key} (at "
                        f"{earlier.delay}) ends after this step is due (at {step.delay}); "
                        "make the delay longer or the window shorter"
                    )
        if step.goto is not None:
            if step.goto not in index:
                problems.append(f"{where}.goto: no step {step.goto!r} in this campaign")
            elif index[step.goto] <= number:
                problems.append(
                    f"{where}.goto: {step.goto} does not come after this step; a goto only "
                    "jumps forward, since going back would be a loop that never ends"
                )
    if problems:
        return problems
    return [
        f"steps[{number}]: {steps[number].key} is on no lead's path: "
        f"{_jumper(steps, number)} always jumps over it"
        for number in sorted(set(range(len(steps))) - _reachable(steps, index))
    ]


def _may_pass(step: StepSpec) -> bool:
    """Whether some lead may not be sent the step, so its goto is not followed.

    Emails without a condition count as always sent: leads are captured by email."""
    return step.if_ is not None or step.condition is not None or step.channel is Channel.SMS


def _reachable(steps: Sequence[StepSpec], index: Mapping[str, int]) -> set[int]:
    reached = {0}
    for number, step in enumerate(steps):
        if number not in reached:
            continue
        if step.goto is not None:
            reached.add(index[step.goto])
        if step.goto is None or _may_pass(step):
            reached.add(number + 1)
    return reached


def _jumper(steps: Sequence[StepSpec], number: int) -> str:
    return next(
        step.key
        for step in reversed(steps[:number])
        if step.goto is not None and [s.key for s in steps].index(step.goto) > number
    )


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a sample lead in the dry run engages: at the moment each message arrives."""

    label: str
    opens_everything: bool = False
    clicks: frozenset[str] = frozenset()

    def record(self, step: StepSpec, sent_at: datetime) -> StepRecord:
        """What this lead does with `step`'s message, sent at `sent_at`."""
        clicked = step.key in self.clicks
        # A click on an email's link opens it; a text reports no opens.
        opened = step.channel is Channel.EMAIL and (self.opens_everything or clicked)
        return StepRecord(sent_at, sent_at if opened else None, sent_at if clicked else None)


OPENS_NOTHING = Behaviour("opens nothing")
OPENS_EVERYTHING = Behaviour("opens everything", opens_everything=True)


def behaviours(spec: CampaignSpec) -> list[Behaviour]:
    """The behaviours staff can pick for the dry run of this campaign."""
    clicks = [Behaviour(f"clicks {s.key}", clicks=frozenset({s.key})) for s in spec.steps]
    return [OPENS_NOTHING, OPENS_EVERYTHING, *clicks]


def parse_behaviour(text: str, spec: CampaignSpec) -> Behaviour:
    """'opens nothing', 'opens everything' or 'clicks STEP'; ValueError naming the choices."""
    wanted = " ".join(text.split()).lower()
    for behaviour in behaviours(spec):
        if behaviour.label == wanted:
            return behaviour
    keys = ", ".join(step.key for step in spec.steps)
    raise ValueError(
        f"{text!r} is not a behaviour: use 'opens nothing', 'opens everything' or "
        f"'clicks STEP' with a step of this campaign ({keys})"
    )
