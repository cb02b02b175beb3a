"""`nurture db upgrade`, and what other commands say when it was not run."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from nurture.config import Settings, get_settings
from nurture.db import make_engine
from tests.cli.conftest import Invoke, failed_cleanly, succeeded


def test_db_upgrade_creates_the_schema_in_a_fresh_data_folder(
    nurture: Invoke, settings: Settings
) -> None:
    output = succeeded(nurture("db", "upgrade"))
    assert "up to date" in output
    engine = make_engine(settings.database_url)
    assert {"leads", "enrollments", "messages", "campaigns"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    # Running it again is harmless.
    succeeded(nurture("db", "upgrade"))


def test_commands_on_an_unmigrated_database_say_to_run_db_upgrade(nurture: Invoke) -> None:
    output = failed_cleanly(nurture("leads", "list"))
    assert "nurture db upgrade" in output


def test_an_invalid_setting_is_named_without_a_traceback(
    nurture: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    output = failed_cleanly(nurture("db", "upgrade"))
    assert "clinic_timezone: unknown time zone 'Mars/Olympus'" in output
