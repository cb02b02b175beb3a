"""Fixtures for end-to-end tests: processes (every one started is stopped, and its log is
attached to the report of a test that fails), a broker, a database and templates of the
test's own, and `start_stack` for web + beat + worker on the accelerated clock.

A test module names its Redis database by overriding `redis_db`, and its campaign by
overriding `short_campaign`, each with a module-level fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from nurture.clock import Clock, anchored_clock
from nurture.db import make_engine
from tests.e2e.short_campaign import ShortCampaign, templates_with
from tests.e2e.stack import (
    TIME_SCALE,
    ProcessGroup,
    SequenceStack,
    StartStack,
    sequence_env,
    start_sequence_stack,
    sync_all_campaigns,
)
from tests.helpers.net import free_port

LOG_TAIL_CHARS = 20_000


@pytest.fixture
def short_campaign() -> ShortCampaign:
    """The campaign the test module's templates add; a module using them overrides this."""
    pytest.fail("define a `short_campaign` fixture returning the module's campaign", pytrace=False)


@pytest.fixture
def engine(fresh_postgres_url: str) -> Iterator[Engine]:
    """An engine on the test's own migrated database, which other processes also use."""
    engine = make_engine(fresh_postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def templates_dir(tmp_path: Path, short_campaign: ShortCampaign) -> Path:
    """A copy of templates/ with the module's short campaign and its article added."""
    return templates_with(short_campaign, tmp_path / "templates")


@pytest.fixture
def virtual_clock(engine: Engine, templates_dir: Path) -> Clock:
    """The accelerated clock of the stack, with every campaign of `templates_dir` synced."""
    sync_all_campaigns(engine, templates_dir)
    # Anchored before any process starts, so all of them share one virtual clock.
    return anchored_clock(sessionmaker(engine, expire_on_commit=False), TIME_SCALE)


@pytest.fixture
def start_stack(
    broker: str,
    processes: ProcessGroup,
    fresh_postgres_url: str,
    templates_dir: Path,
    virtual_clock: Clock,
    tmp_path: Path,
) -> StartStack:
    """Starts web, beat and a worker on the accelerated clock, sending to `stub_url`."""

    # Asking for the broker before the processes stops them before it is flushed, and
    # for the virtual clock anchors it before any process reads it.
    def start(
        stub_url: str, *, worker_name: str, web_port: int | None = None, **env: str
    ) -> SequenceStack:
        return start_sequence_stack(
            processes,
            sequence_env(
                fresh_postgres_url, broker, stub_url, templates_dir, tmp_path / "var", **env
            ),
            worker_name=worker_name,
            web_port=web_port or free_port(),
            beat_schedule=tmp_path / "beat-schedule",
        )

    return start


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
