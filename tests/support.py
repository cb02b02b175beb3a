"""Constants and helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.models import Base

# The source checkout: tests read its files (templates, compose file, README) directly.
REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "NURTURE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NURTURE_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("NURTURE_REQUIRE_SERVICES") == "1"
# Monday 2 November 2026, 09:00 in Chicago: inside every sending window.
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def need(service: str, available: bool, why: str = "") -> None:
    """Skip without `service` locally; fail in CI, where it must be there."""
    if available:
        return
    message = f"{service} is not available{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (NURTURE_REQUIRE_SERVICES=1: CI must run this test)")
    pytest.skip(message)


@dataclass
class Database:
    kind: str
    url: str
    engine: Engine
    factory: sessionmaker[Session]


Snapshot = dict[str, list[str]]


def every_row(db: Database) -> Snapshot:
    """Every row of every table, to show a refused request changed nothing at all."""
    with db.factory() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def tamper(signed: str) -> str:
    """A signed token or URL with one signature character changed.

    Not the last character: in base64 its low bits may be padding, so some changes
    there decode to the same bytes and the "tampered" token would still be valid.
    """
    index = len(signed) - 5
    swapped = "A" if signed[index] != "A" else "B"
    return signed[:index] + swapped + signed[index + 1 :]


def fresh_python(code: str) -> str:
    """What `code` prints in a new interpreter run from the checkout: for what a process
    of the product's own loads or does, free of this test process's imports and patches."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()
