"""Logs: JSON lines in production, and never an email address or a phone number."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from nurture.telemetry.logs import logging_config, redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("sent to dana.o'neil+pt@example.co.uk today", "sent to [email] today"),
        ("texted +12175550199 at 9", "texted [phone] at 9"),
        ("call (217) 555-0199 or 217.555.0199", "call [phone] or [phone]"),
        # Ids, refs, durations and dates stay readable.
        ("message 1234567 ref 9c2854636ceb4f79 took 0.013s on 2026-12-02 10:00", None),
    ],
)
def test_addresses_and_numbers_never_reach_a_log_line(line: str, expected: str | None) -> None:
    assert redact(line) == (expected or line)


def _capture(as_json: bool) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    config = logging_config(as_json)
    config["handlers"]["main"]["stream"] = stream
    logging.config.dictConfig(config)
    return logging.getLogger("nurture.test"), stream


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_production_logs_are_one_json_object_per_line_with_personal_data_masked() -> None:
    logger, stream = _capture(as_json=True)
    logger.info("lead %s captured from %s", "fa920d6e", "ana@example.com")
    record = json.loads(stream.getvalue().strip())
    assert record["level"] == "INFO" and record["logger"] == "nurture.test"
    assert record["message"] == "lead fa920d6e captured from [email]"
    assert "time" in record


def test_development_logs_are_readable_text_with_personal_data_masked() -> None:
    logger, stream = _capture(as_json=False)
    logger.warning("reply from %s", "+12175550199")
    line = stream.getvalue().strip()
    assert line.endswith("WARNING nurture.test: reply from [phone]")
