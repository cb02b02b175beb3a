"""Unpacking an uploaded campaign zip without trusting it: names, sizes and file types."""

from __future__ import annotations

import stat
import zipfile
import zlib
from io import BytesIO
from pathlib import Path, PurePosixPath

from nurture.campaigns.definition import CampaignFileError

MAX_ARCHIVE_BYTES = 2 * 1024 * 1024
MAX_UNPACKED_BYTES = 10 * 1024 * 1024
MAX_FILES = 200
YAML_NAME = "campaign.yaml"
WHERE = "archive"


def _unsafe(name: str) -> str | None:
    """Why a member name may not be written to disk, or None when it is safe."""
    path = PurePosixPath(name)
    if "\\" in name or name.startswith("/") or (path.parts and ":" in path.parts[0]):
        return "absolute or Windows paths are not allowed"
    if ".." in path.parts:
        return "'..' in a path is not allowed"
    return None


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    problems: list[str] = []
    files = [info for info in archive.infolist() if not info.is_dir()]
    if len(files) > MAX_FILES:
        problems.append(f"{WHERE}: holds {len(files)} files; at most {MAX_FILES} are allowed")
    if sum(info.file_size for info in files) > MAX_UNPACKED_BYTES:
        problems.append(f"{WHERE}: larger than {MAX_UNPACKED_BYTES // 2**20} MB unpacked")
    for info in archive.infolist():
        why = _unsafe(info.filename)
        if why is None and stat.S_ISLNK(info.external_attr >> 16):
            why = "links are not allowed"
        if why:
            problems.append(f"{WHERE}: {info.filename}: {why}")
    if problems:
        raise CampaignFileError(problems)
    return files


def _campaign_folder(root: Path, names: list[str]) -> Path:
    """The folder holding campaign.yaml: the archive's top level or its one folder."""
    if YAML_NAME in names:
        return root
    folders = sorted(
        {n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith(f"/{YAML_NAME}")}
    )
    if len(folders) == 1:
        return root / folders[0]
    if not folders:
        raise CampaignFileError([f"{WHERE}: holds no {YAML_NAME} (expected <slug>/{YAML_NAME})"])
    raise CampaignFileError([f"{WHERE}: holds more than one campaign: {', '.join(folders)}"])


def unpack_campaign(data: bytes, into: Path) -> Path:
    """Write the zip's files under `into` and return the campaign folder, or CampaignFileError."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise CampaignFileError([f"{WHERE}: larger than {MAX_ARCHIVE_BYTES // 2**20} MB"])
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        raise CampaignFileError([f"{WHERE}: not a zip file"]) from None
    with archive:
        names = []
        for info in _members(archive):
            target = into / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            # Read no more than the declared size: a lying header cannot fill the disk.
            try:
                with archive.open(info) as source:
                    content = source.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error):
                raise CampaignFileError([f"{WHERE}: {info.filename}: cannot be read"]) from None
            if len(content) > info.file_size:
                raise CampaignFileError([f"{WHERE}: {info.filename}: size does not match"])
            target.write_bytes(content)
            names.append(info.filename)
    return _campaign_folder(into, names)
