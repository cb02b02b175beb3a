"""Campaign-as-code out of the database: the same folder `nurture campaigns sync` reads.

The YAML is written from the stored spec, deterministically: fields in the schema's
order, values equal to the schema's default left out, block style, unicode as is.
Loading what is written gives the same definition (and checksum) back, so an export
imported again is not a new version, and exporting that is byte for byte the same.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import CampaignSpec

YAML_NAME = "campaign.yaml"
# A fixed timestamp makes the zip depend on the campaign alone.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
WHOLE_MINUTE = re.compile(r"^\d\d:\d\d:00$")


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as the hand-written campaign files do.
        super().increase_indent(flow, False)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def _short_times(step: dict[str, Any]) -> None:
    # "10:00" rather than "10:00:00": the way people write a window, read back the same.
    window = step.get("window")
    if window:
        for edge in ("start", "end"):
            if edge in window and WHOLE_MINUTE.match(window[edge]):
                window[edge] = window[edge][:5]


def campaign_yaml(spec: CampaignSpec) -> str:
    """The campaign.yaml text for this spec."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    # `steps` has no default, so it is always there; each step keeps its schema order.
    for step in data["steps"]:
        _short_times(step)
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
    return text


def campaign_files(definition: CampaignDefinition) -> dict[str, bytes]:
    """Each file of the campaign folder, by its path inside the folder, YAML first."""
    files = {YAML_NAME: campaign_yaml(definition.spec).encode("utf-8")}
    for name in sorted(definition.templates):
        files[name] = definition.templates[name].encode("utf-8")
    return files


def export_zip(definition: CampaignDefinition) -> bytes:
    """A zip holding `<slug>/campaign.yaml` and every template, the same bytes each time."""
    buffer = io.BytesIO()
    slug = definition.spec.slug
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in campaign_files(definition).items():
            info = zipfile.ZipInfo(f"{slug}/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permission bits below mean what they say
            info.external_attr = 0o100644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


class FolderExists(FileExistsError):
    """The export's folder already holds files and overwriting was not asked for."""


def write_folder(definition: CampaignDefinition, parent: Path, *, overwrite: bool) -> Path:
    """Write the campaign folder as `parent/<slug>/`; returns it."""
    folder = parent / definition.spec.slug
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise FolderExists(str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in campaign_files(definition).items():
        (folder / name).write_bytes(content)  # bytes: no newline translation
    return folder
