"""A campaign as loaded from its folder: the checked spec plus its template sources."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jinja2 import DictLoader, Environment, StrictUndefined
from pydantic import ValidationError

from nurture.campaigns.spec import CampaignSpec


@dataclass(frozen=True)
class CampaignDefinition:
    spec: CampaignSpec
    templates: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec.model_dump(mode="json"), "templates": dict(self.templates)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CampaignDefinition:
        return cls(CampaignSpec.model_validate(data["spec"]), dict(data["templates"]))

    @cached_property
    def environment(self) -> Environment:
        """The step templates' Jinja environment; each template compiles once per definition."""
        return Environment(  # noqa: S701 - email bodies are Markdown; HTML comes from markdown-it
            loader=DictLoader(self.templates),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    @cached_property
    def render_cache(self) -> dict[Any, Any]:
        """What rendering works out once per step of this version (nurture.messages.render)."""
        return {}

    def checksum(self) -> str:
        """What identifies this content: fields left at their defaults do not count, so a
        new optional field in the schema never makes an unchanged campaign "changed"."""
        content = {
            "spec": self.spec.model_dump(mode="json", exclude_defaults=True),
            "templates": self.templates,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class CampaignFileError(ValueError):
    """A campaign folder that cannot be loaded; `problems` name file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def load_campaign_dir(folder: Path) -> CampaignDefinition:
    """Load `folder/campaign.yaml` and every template it names."""
    source = folder / "campaign.yaml"
    if not source.is_file():
        raise CampaignFileError([f"{source}: file not found"])
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CampaignFileError([f"{source}:{where}: not valid YAML"]) from exc
    if not isinstance(raw, dict):
        raise CampaignFileError([f"{source}: expected a mapping of campaign fields"])
    try:
        spec = CampaignSpec.model_validate(raw)
    except ValidationError as exc:
        raise CampaignFileError(
            [f"{source}: {_field_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from exc
    problems, templates = [], {}
    for index, step in enumerate(spec.steps):
        named = [("template", step.template)] + [
            (f"translations.{language}.template", words.template)
            for language, words in step.translations.items()
        ]
        for number, variant in enumerate(step.variants):
            languages = ["", *variant.translations]
            named += [
                (
                    f"variants[{number}].{f'translations.{language}.' if language else ''}template",
                    words.template,
                )
                for language, words in zip(languages, variant.every_words(), strict=True)
                if words.template is not None
            ]
        for where, name in named:
            path = folder / name
            if not path.is_file():
                problems.append(f"{source}: steps[{index}].{where}: {name} not found")
                continue
            templates[name] = path.read_text(encoding="utf-8")
    if problems:
        raise CampaignFileError(problems)
    return CampaignDefinition(spec, templates)


def campaign_dirs(templates_dir: Path) -> list[Path]:
    """Every campaign folder under templates/campaigns, in name order."""
    root = templates_dir / "campaigns"
    return sorted(p for p in root.iterdir() if (p / "campaign.yaml").is_file())
