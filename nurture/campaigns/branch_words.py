"""A step's branch (`if:` and `goto:`) in words, for pages that show it to staff.

What the words mean is nurture.campaigns.conditions' to decide; this only says the
rule as written, so the editor can show it next to the fields it keeps unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from nurture.campaigns.spec import StepIf, StepSpec


@dataclass(frozen=True, slots=True)
class BranchLine:
    """One line of a step's branch: 'Only if' or 'Then go to', and what follows it."""

    label: str
    text: str


def condition_words(condition: StepIf) -> str:
    """'not opened anatomy-link within 3d and has not replied'."""
    parts = []
    for what, key in condition.step_clauses():
        within = f" within {condition.within}" if condition.within is not None else ""
        parts.append(f"{what.replace('_', ' ')} {key}{within}")
    if condition.replied is not None:
        parts.append("has replied" if condition.replied else "has not replied")
    if condition.booked is not None:
        parts.append("has not booked")  # `booked: true` is refused: a booking ends it
    return " and ".join(parts)


def branch_lines(step: StepSpec) -> list[BranchLine]:
    """The step's branch as lines to show; [] when it always goes and goes on in order."""
    lines = []
    if step.if_ is not None:
        lines.append(BranchLine("Only if", condition_words(step.if_)))
    if step.goto is not None:
        lines.append(BranchLine("Then go to", step.goto))
    return lines
