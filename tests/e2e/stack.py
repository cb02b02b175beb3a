"""Real processes for end-to-end tests: Celery worker, beat, the web app, the provider stub.

Each process runs in its own session (process group), so a test can SIGKILL a worker
together with its pool children, and the finalizer can never leave one behind. A
"sequence stack" is web + beat + worker on an accelerated clock, sending through the
official SDKs to the provider stub.
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
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar
from xml.etree import ElementTree

import httpx
import redis
from celery import Celery
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from nurture.campaigns.definition import campaign_dirs, load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import utcnow
from nurture.leads.models import Lead
from nurture.messages.models import Message
from tests.helpers.net import wait_for_port
from tests.support import REDIS_URL, REPO

T = TypeVar("T")
TWILIO_TEST_SID = "AC" + "0123456789abcdef" * 2
TIME_SCALE = 1200  # one virtual hour every three real seconds
DISPATCH_INTERVAL = 0.25  # real seconds between beat's dispatch ticks


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
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def python_module(module: str, *args: str) -> list[str]:
    """This interpreter running `module` as a script, with `args`."""
    return [sys.executable, "-m", module, *args]


def celery_argv(*args: str) -> list[str]:
    """The celery command on the project's app."""
    return python_module("celery", "-A", "workers.celery_app", *args)


def worker_argv(name: str, concurrency: int, *extra: str) -> list[str]:
    """A prefork Celery worker on the default queue, started without cluster chatter."""
    return celery_argv(
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
    )


def beat_argv(schedule_file: Path) -> list[str]:
    """Celery beat with its schedule state in a file of the test's own."""
    return celery_argv("beat", "-s", str(schedule_file), "--loglevel", "INFO")


def web_argv(port: int) -> list[str]:
    """The web app under uvicorn on 127.0.0.1:`port`."""
    return python_module(
        "uvicorn",
        "--factory",
        "nurture.web.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    )


def stub_argv(port: int, log: Path, delay: float) -> list[str]:
    """The provider stub as a process of its own, so its log outlives killed workers."""
    return python_module(
        "tests.helpers.provider_stub", "--port", str(port), "--log", str(log), "--delay", str(delay)
    )


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
        self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path = REPO
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


def lead_messages(engine: Engine, public_id: str) -> list[Message]:
    """The lead's outbox rows, oldest first, read in a session of their own."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.scalars(
                select(Message)
                .join(Lead, Lead.id == Message.lead_id)
                .where(Lead.public_id == public_id)
                .order_by(Message.id)
            )
        )


def zone_where_it_is_nine(moment: datetime) -> str:
    """A fixed-offset zone in which `moment` falls in the 09:00 hour."""
    offset = (9 - moment.hour + 12) % 24 - 12  # -12..+11 hours from UTC
    if offset == 0:
        return "Etc/GMT"
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def sequence_env(
    database_url: str,
    broker_url: str,
    stub_url: str,
    templates_dir: Path,
    data_dir: Path,
    **extra: str,
) -> dict[str, str]:
    """The environment of a web + beat + worker stack on the accelerated clock."""
    return service_env(
        database_url,
        broker_url,
        **provider_env(stub_url),
        NURTURE_TEMPLATES_DIR=str(templates_dir),
        NURTURE_DATA_DIR=str(data_dir),
        NURTURE_TIME_SCALE=str(TIME_SCALE),
        NURTURE_DISPATCH_INTERVAL=str(DISPATCH_INTERVAL),
        # Five messages in six virtual hours exceed the clinic's frequency caps on
        # purpose; the caps have tests of their own.
        EMAIL_FREQUENCY_CAP="",
        SMS_FREQUENCY_CAP="",
        **extra,
    )


@dataclass
class SequenceStack:
    """The web app, beat and a worker of one test, started and warmed up."""

    web: Process
    beat: Process
    worker: Process
    web_url: str

    def trouble(self) -> str | None:
        """Why waiting on the stack is pointless: one of its processes failed."""
        return self.worker.trouble() or self.beat.trouble() or self.web.trouble()

    def sign_up(self, article: str, first_name: str, email: str, phone: str, zone: str) -> str:
        """Capture a lead through the JSON API with email and SMS consent; their public id."""
        response = httpx.post(
            f"{self.web_url}/api/leads",
            json={
                "article": article,
                "first_name": first_name,
                "email": email,
                "phone": phone,
                "timezone": zone,
                "consent": {"email": True, "sms": True},
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["lead_id"])


class StartStack(Protocol):
    """What the `start_stack` fixture gives: start a sequence stack sending to `stub_url`."""

    def __call__(
        self, stub_url: str, *, worker_name: str, web_port: int | None = None, **env: str
    ) -> SequenceStack: ...


def start_sequence_stack(
    processes: ProcessGroup,
    env: Mapping[str, str],
    *,
    worker_name: str,
    web_port: int,
    beat_schedule: Path,
) -> SequenceStack:
    """Start web, beat and a two-process worker; return once the worker runs beat's ticks."""
    worker = processes.start("worker", worker_argv(worker_name, 2), env)
    beat = processes.start("beat", beat_argv(beat_schedule), env)
    web = processes.start("web", web_argv(web_port), env)
    worker.wait_for_log(" ready.", timeout=30)
    web.wait_for_port(web_port, timeout=30)
    # Beat's first dispatch passes warm the worker (connections, imports), so the
    # first step's timing measures the schedule, not a cold start.
    wait_until(
        lambda: worker.log().count("nurture.dispatch") >= 6,
        30,
        "the worker to run beat's first dispatch passes",
        abort=worker.trouble,
    )
    return SequenceStack(web, beat, worker, f"http://127.0.0.1:{web_port}")


def post_inbound_text(
    web_url: str, auth_token: str, *, sender: str, to: str, body: str, sid: str
) -> list[str]:
    """Post an inbound text to the running web process as Twilio does (signed for its
    public URL); the texts it answered with, from its TwiML."""
    params = {
        "MessageSid": sid,
        "AccountSid": TWILIO_TEST_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    url = f"{web_url}/webhooks/twilio/sms"
    signature = RequestValidator(auth_token).compute_signature(url, params)
    response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml"), response.text
    root = ElementTree.fromstring(response.text)
    assert root.tag == "Response", response.text
    return [element.text or "" for element in root.iter("Message")]
