"""Uploaded CSV files kept on the server between the preview and the import.

Each file is named by a random id, so no personal data (not even the file name)
ever appears in a URL; the id travels in the form's POST body.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
# An upload nobody imported within a day is removed at the next upload.
ABANDONED_AFTER_SECONDS = 24 * 60 * 60


class UploadMissing(LookupError):
    """The upload id is malformed, or its file is gone (imported already, or expired)."""


def uploads_dir(data_dir: Path) -> Path:
    """The folder holding uploads waiting to be imported."""
    return data_dir / "imports"


def save_upload(data_dir: Path, data: bytes) -> str:
    """Keep the uploaded bytes and return the random id that names them."""
    folder = uploads_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(folder)
    upload_id = secrets.token_hex(16)
    path = folder / f"{upload_id}.csv"
    path.touch(mode=0o600)  # the file holds personal data: readable by this service only
    path.write_bytes(data)
    return upload_id


def upload_path(data_dir: Path, upload_id: str) -> Path:
    """Where the upload lives; UploadMissing when the id is not one of ours or it is gone."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise UploadMissing(upload_id)
    path = uploads_dir(data_dir) / f"{upload_id}.csv"
    if not path.is_file():
        raise UploadMissing(upload_id)
    return path


def read_upload(data_dir: Path, upload_id: str) -> bytes:
    """The uploaded bytes, or UploadMissing."""
    return upload_path(data_dir, upload_id).read_bytes()


def delete_upload(data_dir: Path, upload_id: str) -> None:
    """Remove the upload (done once its import has finished); a missing file is fine."""
    if UPLOAD_ID.fullmatch(upload_id):
        (uploads_dir(data_dir) / f"{upload_id}.csv").unlink(missing_ok=True)


def _remove_abandoned(folder: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue  # another request removed it first
