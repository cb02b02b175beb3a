"""The editor's form for one step, turned into the whole edited campaign and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.preview import Draft, FieldProblem
from nurture.campaigns.spec import CampaignSpec, StepSpec
from nurture.campaigns.validate import validate_definition
from nurture.channel import Channel

STEP_FIELDS = ("delay", "channel", "condition", "window", "subject", "preheader", "body")
MAX_BODY = 20_000
_STEP_REF = re.compile(r"steps\[(\d+)\]")


class StepForm(BaseModel):
    """A step's fields as the editor's form (or its script) sends them."""

    model_config = ConfigDict(extra="ignore")

    delay: str = ""
    channel: str = "email"
    condition: str = ""
    window_start: str = ""
    window_end: str = ""
    window_days: list[str] = []
    subject: str = ""
    preheader: str = ""
    body: str = ""

    @field_validator("body")
    @classmethod
    def _unix_newlines(cls, value: str) -> str:
        # Browsers send a textarea's line breaks as CRLF; the template files use LF.
        return value.replace("\r\n", "\n")

    @classmethod
    def of_step(cls, definition: CampaignDefinition, step: StepSpec) -> StepForm:
        """The form filled in with the stored step."""
        window = step.window
        return cls(
            delay=step.delay,
            channel=step.channel.value,
            condition=step.condition or "",
            window_start=window.start.strftime("%H:%M") if window else "",
            window_end=window.end.strftime("%H:%M") if window else "",
            window_days=list(window.days) if window else [],
            subject=step.subject or "",
            preheader=step.preheader or "",
            body=definition.templates[step.template],
        )

    def channel_or_none(self) -> Channel | None:
        try:
            return Channel(self.channel)
        except ValueError:
            return None

    def draft(self, key: str) -> Draft | None:
        """What the preview renders; None when the channel is not one we send on."""
        channel = self.channel_or_none()
        if channel is None:
            return None
        email = channel is Channel.EMAIL
        return Draft(
            key,
            channel,
            self.body,
            self.subject.strip() if email else "",
            self.preheader.strip() if email else "",
        )


@dataclass(frozen=True)
class StepEdit:
    """The edited campaign when it is valid, what changed, and what is wrong."""

    definition: CampaignDefinition | None
    changed: tuple[str, ...]
    problems: list[FieldProblem]


def _window(form: StepForm) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    start, end = form.window_start.strip(), form.window_end.strip()
    if not start and not end:
        return None, []
    if not start or not end:
        problem = "give both a start and an end time, or leave both empty for no window"
        return None, [FieldProblem("window", problem)]
    return {"start": start, "end": end, "days": list(form.window_days)}, []


def _field_of(location: tuple[int | str, ...], message: str, index: int) -> str:
    if len(location) >= 3 and location[:2] == ("steps", index):
        return "body" if location[2] == "template" else str(location[2])
    if location[:2] == ("steps", index):
        return next((f for f in ("subject", "window") if f in message), "delay")
    return "delay" if "delay" in message else "campaign"


def _spec_problems(exc: ValidationError, spec: CampaignSpec, index: int) -> list[FieldProblem]:
    keys = [s.key for s in spec.steps]
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        # "steps[3].delay" means nothing to a person: name the step instead.
        message = _STEP_REF.sub(lambda m: f"step {keys[int(m[1])]!r}", message)
        problems.append(FieldProblem(_field_of(error["loc"], message, index), message))
    return problems


def _template_name(definition: CampaignDefinition, step: StepSpec, body: str) -> str:
    # Two steps may share a file; a changed body must then get a file of its own.
    shared = any(s.template == step.template and s.key != step.key for s in definition.spec.steps)
    if body == definition.templates[step.template] or not shared:
        return step.template
    suffix = step.template.split(".", 1)[1] if "." in step.template else "j2"
    return f"{step.key}.{suffix}"


def _changed(old: CampaignDefinition, new: CampaignDefinition, key: str) -> tuple[str, ...]:
    before, after = old.spec.step(key), new.spec.step(key)
    changed = [name for name in STEP_FIELDS[:-1] if getattr(before, name) != getattr(after, name)]
    if old.templates[before.template] != new.templates[after.template]:
        changed.append("body")
    return tuple(changed)


def _rendering_problems(
    definition: CampaignDefinition, key: str, templates_dir: Path
) -> list[FieldProblem]:
    """The campaign checker's errors (the same as `nurture campaigns validate`)."""
    spec = definition.spec
    index = [s.key for s in spec.steps].index(key)
    template = spec.steps[index].template
    problems = []
    for finding in validate_definition(definition, templates_dir):
        if finding.severity != "error":
            continue
        mine = finding.where.endswith(f"/{template}") or (
            f"steps[{index}]." in finding.where
            and ".translations." not in finding.where
            and ".variants[" not in finding.where
        )
        name = next((f for f in ("subject", "preheader") if f".{f}" in finding.where), "body")
        # Anything else (another step, a translation or an A/B variant this editor does
        # not show) names its file, so staff know where the campaign-as-code needs changing.
        message = finding.message if mine else f"{finding.where}: {finding.message}"
        problems.append(FieldProblem(name if mine else "campaign", message))
    return problems


def apply_step_form(
    definition: CampaignDefinition, key: str, form: StepForm, templates_dir: Path
) -> StepEdit:
    """The campaign with step `key` replaced by the form's values, checked whole."""
    spec = definition.spec
    index = [s.key for s in spec.steps].index(key)
    step = spec.steps[index]
    problems: list[FieldProblem] = []
    channel = form.channel_or_none()
    if channel is None:
        problems.append(FieldProblem("channel", "choose email or sms"))
    if len(form.body) > MAX_BODY:
        problems.append(FieldProblem("body", f"at most {MAX_BODY} characters"))
    if not form.body.strip():
        problems.append(FieldProblem("body", "the message needs some text"))
    window, window_problems = _window(form)
    problems += window_problems
    if problems:
        return StepEdit(None, (), problems)
    email = channel is Channel.EMAIL
    template = _template_name(definition, step, form.body)
    edited = {
        **step.model_dump(mode="json"),
        "delay": form.delay.strip(),
        "channel": form.channel,
        "condition": form.condition or None,
        "window": window,
        "template": template,
        "subject": (form.subject.strip() or None) if email else None,
        "preheader": (form.preheader.strip() or None) if email else None,
    }
    if not email:
        # A text has no subject in any language; its translations keep their files.
        edited["translations"] = {
            language: {**words, "subject": None, "preheader": None}
            for language, words in edited.get("translations", {}).items()
        }
    data = spec.model_dump(mode="json")
    data["steps"][index] = edited
    try:
        new_spec = CampaignSpec.model_validate(data)
    except ValidationError as exc:
        return StepEdit(None, (), _spec_problems(exc, spec, index))
    sources = {**definition.templates, template: form.body}
    new = CampaignDefinition(new_spec, {name: sources[name] for name in new_spec.template_files()})
    problems = _rendering_problems(new, key, templates_dir)
    return StepEdit(None if problems else new, _changed(definition, new, key), problems)
