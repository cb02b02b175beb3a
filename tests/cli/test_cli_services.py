"""The long-running commands: `run` in one process, `worker` and `beat` on a shared broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy.orm import sessionmaker

from nurture.campaigns.definition import campaign_dirs, load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import SystemClock
from nurture.config import Settings, get_settings
from nurture.db import make_engine
from tests.cli.conftest import Invoke, failed_cleanly
from tests.factories import capture
from tests.helpers.net import free_port, wait_for_port
from tests.support import REDIS_URL, need

NURTURE = str(Path(sys.executable).with_name("nurture"))
# A Redis database of this test's own, so no other test's worker takes its tasks.
BROKER_DB = 11


def _use_broker(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    get_settings.cache_clear()


def test_run_refuses_a_shared_broker_and_names_the_separate_commands(
    nurture: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_broker(monkeypatch, "redis://127.0.0.1:6379/0")
    output = failed_cleanly(nurture("run"))
    assert "`nurture serve`, `nurture worker` and `nurture beat`" in output


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_worker_and_beat_refuse_the_in_process_memory_broker(nurture: Invoke, command: str) -> None:
    output = failed_cleanly(nurture(command))
    assert "memory://" in output and "nurture run" in output


@contextmanager
def _process(argv: list[str], log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200", **env},
            start_new_session=True,  # its own process group: nothing is left behind
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait_for_email(outbox: Path, timeout: float, process: subprocess.Popen[bytes]) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        found = list(outbox.glob("*.eml")) if outbox.is_dir() else []
        if found:
            return found
        time.sleep(0.2)
    return []


@pytest.mark.worker
def test_run_takes_a_lead_from_the_form_delivers_it_and_stops_on_ctrl_c(
    settings: Settings, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "run.log"
    with _process([NURTURE, "run", "--port", str(port)], log) as process:
        assert wait_for_port(port, 60, still_starting=lambda: process.poll() is None), (
            log.read_text()
        )
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/leads",
            json={
                "article": "tight-hamstrings-sciatic-nerve",
                "first_name": "Dana",
                "email": "dana@example.com",
                "consent": {"email": True},
            },
        )
        assert response.status_code == 201, response.text
        # Beat (every 2 s) -> dispatch -> deliver, all inside that one process.
        emails = _wait_for_email(settings.outbox_dir, 30, process)
        assert len(emails) == 1, log.read_text()
        assert "Dana, here is your guide" in emails[0].read_text()
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, log.read_text()
    assert "Stopped: web, worker and beat have shut down." in log.read_text()


@pytest.mark.redis
@pytest.mark.worker
def test_worker_with_embedded_beat_delivers_from_a_shared_database(
    settings: Settings, tmp_path: Path, fresh_postgres_url: str
) -> None:
    broker = REDIS_URL.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    client = redis.Redis.from_url(broker, socket_connect_timeout=1)
    try:
        need("Redis", bool(client.ping()), broker)
    except redis.RedisError:
        need("Redis", False, broker)
    client.flushdb()
    client.close()
    engine = make_engine(fresh_postgres_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        for folder in campaign_dirs(settings.templates_dir):
            sync_campaign(session, load_campaign_dir(folder), SystemClock().now())
    capture(factory, SystemClock(), settings, email="lee@example.com", first_name="Lee", sms=False)
    engine.dispose()
    log = tmp_path / "worker.log"
    argv = [NURTURE, "worker", "--beat", "--pool", "solo", "--loglevel", "WARNING"]
    env = {"CELERY_BROKER_URL": broker, "DATABASE_URL": fresh_postgres_url}
    with _process(argv, log, **env) as process:
        emails = _wait_for_email(settings.outbox_dir, 60, process)
        assert len(emails) == 1, log.read_text()
        assert "Lee, here is your guide" in emails[0].read_text()
        os.killpg(process.pid, signal.SIGTERM)  # a warm shutdown, as a supervisor asks
        assert process.wait(60) == 0, log.read_text()
