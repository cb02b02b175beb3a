"""Real processes for end-to-end tests: Celery worker, beat, the web app, the provider stub.

Each process runs in its own session (process group), so a test can SIGKILL a worker
together with its pool children, and the finalizer can never leave one behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import redis
from celery import Celery
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import campaign_dirs, load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import utcnow
from nurture.config import PROJECT_ROOT
from nurture.messages.models import Message
from tests.helpers.net import wait_for_port
from tests.support import REDIS_URL

T = TypeVar("T")
TWILIO_TEST_SID = "AC" + "0123456789abcdef" * 2


def redis_url_for(db_number: int) -> str:
    """The test Redis server's URL with a database number of the caller's own."""
    base = REDIS_URL.rsplit("/", 1)[0] if REDIS_URL.count("/") > 2 else REDIS_URL
    return f"{base}/{db_number}"


def redis_available(url: str) -> bool:
    """Whether Redis answers at `url`."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def flush_redis(url: str) -> None:
    """Empty the Redis database of `url` (only that database number)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def provider_env(stub_url: str) -> dict[str, str]:
    """Settings that send through the official SDKs to the provider stub."""
    return {
        "EMAIL_CHANNEL": "sendgrid",
        "SENDGRID_API_KEY": "SG.test",
        "SENDGRID_API_URL": stub_url,
        "SMS_CHANNEL": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_TEST_SID,
        "TWILIO_AUTH_TOKEN": "test",
        "TWILIO_FROM_NUMBER": "+12175550100",
        "TWILIO_API_URL": stub_url,
    }


def service_env(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    """The environment every process of the stack shares."""
    env = dict(os.environ)
    env.update(
        {
            "NURTURE_ENV": "test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def worker_argv(name: str, concurrency: int, *extra: str) -> list[str]:
    """A prefork Celery worker on the default queue, started without cluster chatter."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "-Q",
        "celery",
        "--loglevel",
        "INFO",
        "-n",
        f"{name}-{uuid.uuid4().hex[:8]}@%h",
        # Mingle and gossip talk to other workers: none here, and they slow the start.
        "--without-mingle",
        "--without-gossip",
        *extra,
    ]


def beat_argv(schedule_file: Path) -> list[str]:
    """Celery beat with its schedule state in a file of the test's own."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "beat",
        "-s",
        str(schedule_file),
        "--loglevel",
        "INFO",
    ]


def web_argv(port: int) -> list[str]:
    """The web app under uvicorn on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "nurture.web.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def stub_argv(port: int, log: Path, delay: float) -> list[str]:
    """The provider stub as a process of its own, so its log outlives killed workers."""
    return [
        sys.executable,
        "-m",
        "tests.helpers.provider_stub",
        "--port",
        str(port),
        "--log",
        str(log),
        "--delay",
        str(delay),
    ]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def trouble(self) -> str | None:
        """Why waiting on this process is pointless: it exited, or a task crashed."""
        if not self.alive():
            return f"{self.name} exited with {self.popen.returncode}:\n{self.log()[-5000:]}"
        log = self.log()
        if "raised unexpected" in log:
            return f"a task failed in {self.name}:\n{log[log.index('raised unexpected') - 200 :]}"
        return None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process and every child it started (its whole process group)."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def wait_for_log(self, text: str, timeout: float) -> None:
        """Wait until the process logs `text`; fail with its log if it dies or never does."""
        wait_until(
            lambda: text in self.log(),
            timeout,
            f"{self.name} to log {text!r}",
            abort=self.trouble,
        )

    def wait_for_port(self, port: int, timeout: float) -> None:
        """Wait until the process accepts connections on `port`."""
        if not wait_for_port(port, timeout, still_starting=self.alive):
            raise AssertionError(f"{self.name} is not listening on {port}:\n{self.log()}")


@dataclass
class ProcessGroup:
    """The processes a test started; `stop_all` ends every one of them."""

    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def start(
        self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path = PROJECT_ROOT
    ) -> Process:
        """Start `argv` in a new session with its output in `<log_dir>/<name>.log`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def stop_all(self, grace: float = 5.0) -> None:
        """SIGTERM every process group, then SIGKILL whatever is still there."""
        for process in self.processes:
            if process.alive():
                process.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
            # Pool children may outlive their parent: the group kill reaches them too.
            process.kill_group(signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)

    def logs(self) -> dict[str, str]:
        """Each process's log, by name."""
        return {process.name: process.log() for process in self.processes}


def wait_until(
    condition: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    abort: Callable[[], str | None] = lambda: None,
) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        reason = abort()
        if reason:
            raise AssertionError(f"gave up waiting for {what}: {reason}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def celery_client(broker_url: str) -> Iterator[Celery]:
    """A Celery app that only sends tasks by name (the workers own the task code)."""
    client = Celery("e2e-client", broker=broker_url)
    client.conf.broker_connection_retry_on_startup = True
    try:
        yield client
    finally:
        client.close()


def sync_all_campaigns(engine: Engine, templates_dir: Path) -> list[int]:
    """Sync every campaign folder under `templates_dir` into the database; their ids."""
    with Session(engine) as session, session.begin():
        return [
            sync_campaign(session, load_campaign_dir(folder), utcnow()).campaign_id
            for folder in campaign_dirs(templates_dir)
        ]


def message_rows(engine: Engine) -> list[Message]:
    """Every outbox row, oldest first, read in a session of its own."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(Message).order_by(Message.id)))
