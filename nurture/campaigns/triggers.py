"""Checks on a follow-up campaign's `starts_on` that look past its own folder: a trigger
may only name a campaign that exists among the campaign folders."""

from __future__ import annotations

from pathlib import Path

import yaml

from nurture.campaigns.definition import CampaignDefinition, campaign_dirs
from nurture.campaigns.validate import Finding


def known_slugs(templates_dir: Path) -> set[str]:
    """The slug of every campaign folder under templates/campaigns that says one."""
    slugs: set[str] = set()
    root = templates_dir / "campaigns"
    if not root.is_dir():
        return slugs
    for folder in campaign_dirs(templates_dir):
        try:
            raw = yaml.safe_load((folder / "campaign.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue  # that folder's own check reports it
        if isinstance(raw, dict) and isinstance(raw.get("slug"), str):
            slugs.add(raw["slug"])
    return slugs


def trigger_findings(definition: CampaignDefinition, source: str, known: set[str]) -> list[Finding]:
    """An error for each trigger naming a campaign that is not in `known` (`source` is
    the campaign.yaml the finding names)."""
    return [
        Finding(
            "error",
            f"{source}: starts_on[{index}].campaign",
            f"there is no campaign {trigger.campaign!r} to follow"
            + (f"; campaigns: {', '.join(sorted(known))}" if known else ""),
        )
        for index, trigger in enumerate(definition.spec.starts_on)
        if trigger.campaign is not None and trigger.campaign not in known
    ]
