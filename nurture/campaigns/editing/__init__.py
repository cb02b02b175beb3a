"""Editing one step of a stored campaign: the typed form becomes a new, checked version.

A stored version is never changed. Saving writes version N+1 (through campaigns.sync)
and moves running enrollments onto it by step key (`move_enrollments_to_version`,
which importing a campaign uses too).
"""

from nurture.campaigns.editing.form import STEP_FIELDS, StepEdit, StepForm, apply_step_form
from nurture.campaigns.editing.impact import Impact, describe_impact
from nurture.campaigns.editing.migration import MoveReport, move_enrollments_to_version
from nurture.campaigns.editing.save import SavedEdit, save_step_edit

__all__ = [
    "STEP_FIELDS",
    "Impact",
    "MoveReport",
    "SavedEdit",
    "StepEdit",
    "StepForm",
    "apply_step_form",
    "describe_impact",
    "move_enrollments_to_version",
    "save_step_edit",
]
