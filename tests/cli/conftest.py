"""Running the `nurture` command in-process, against the test's own SQLite database."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from nurture.cli.main import app
from tests.support import REPO

SEEDED = REPO / "templates" / "campaigns" / "hamstring-sciatica"
# Wide enough that no table cell wraps mid-phrase, so assertions can match whole lines.
WIDE = {"COLUMNS": "250"}

Invoke = Callable[..., Result]


def succeeded(result: Result) -> str:
    """The output of a command that must have exited 0 (shown in full when it did not)."""
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def failed_cleanly(result: Result) -> str:
    """The output of a command that must have refused with exit 1 and no traceback."""
    assert result.exit_code == 1, result.output + repr(result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


def timeline_entry(output: str | list[str], step: str) -> str:
    """A timeline entry: its head line ("Day 0  Mon 2 Nov ... step") and indented details."""
    lines = output.splitlines() if isinstance(output, str) else output
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(f" {step}"))
    details = []
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 8):
            break
        details.append(line.strip())
    return " | ".join([lines[start].rstrip(), *details])


@pytest.fixture
def nurture() -> Invoke:
    """Run `nurture ARGS...` and return click's Result."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=WIDE)

    return invoke


@pytest.fixture
def migrated(migrated_database: None) -> None:
    """The settings' SQLite database at the newest schema (a copy of the session's
    migrated template; `nurture db upgrade` itself is tested in test_cli_db)."""


@pytest.fixture
def synced(nurture: Invoke, migrated: None) -> None:
    """The seeded campaign synced by `nurture campaigns sync`."""
    succeeded(nurture("campaigns", "sync"))


@pytest.fixture
def campaign_copy(tmp_path: Path) -> Path:
    """A copy of the seeded campaign folder that a test may change."""
    folder = tmp_path / "campaigns" / "hamstring-sciatica"
    shutil.copytree(SEEDED, folder)
    return folder
