"""Process fixtures for end-to-end tests: every process started is stopped, and its log
is attached to the report of a test that fails."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import ProcessGroup

LOG_TAIL_CHARS = 20_000


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    """Start processes through this; they are terminated (whole groups) afterwards."""
    group = ProcessGroup(tmp_path / "logs")
    try:
        yield group
    finally:
        group.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    group = getattr(item, "funcargs", {}).get("processes")
    if report.failed and isinstance(group, ProcessGroup):
        for name, log in group.logs().items():
            report.sections.append((f"log of {name}", log[-LOG_TAIL_CHARS:]))
    return report
