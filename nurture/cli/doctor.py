"""`nurture doctor`: is every link of delivery working, and if not, which one.

Without options it checks the whole chain from this machine: configuration, the
database and its schema, campaigns, the broker, workers answering a ping, beat and
the dispatcher's last pass. `--probe web|worker|beat` checks one process on this
host, for container healthchecks.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from celery import Celery
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.cli.context import load_settings
from nurture.cli.output import console
from nurture.cli.services import is_memory_broker
from nurture.clock import utcnow
from nurture.config import Settings
from nurture.db import get_engine, get_sessionmaker
from nurture.health.heartbeat import BEAT, read_all
from nurture.health.readiness import BEAT_EVERY, MISSED, Check, chain_checks
from nurture.health.schema import schema_revisions
from nurture.webhooks_out.endpoints import unreadable_secrets
from nurture.webhooks_out.models import WebhookEndpoint

PING_TIMEOUT = 3


class Probe(StrEnum):
    WEB = "web"
    WORKER = "worker"
    BEAT = "beat"


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a doctor reports what broke; it never crashes on it
        return Check(name, False, f"{type(exc).__name__} (unreachable or misconfigured)")


def database_check() -> Check:
    """Reachable, and migrated to the newest schema this install ships."""
    current, heads = schema_revisions(get_engine())
    if current != heads:
        return Check("database", False, "the schema is not up to date: run `nurture db upgrade`")
    return Check("database", True, "reachable, schema up to date")


def campaigns_check() -> Check:
    with get_sessionmaker()() as session:
        active = session.scalar(
            select(func.count()).where(Campaign.status == CampaignStatus.ACTIVE)
        )
    if not active:
        return Check("campaigns", False, "no active campaign: run `nurture campaigns sync`")
    return Check("campaigns", True, f"{active} active")


def webhook_secrets_check(settings: Settings) -> Check:
    """Whether every enabled webhook endpoint can still be signed for."""
    with get_sessionmaker()() as session:
        if not session.scalar(select(func.count()).select_from(WebhookEndpoint)):
            return Check("webhook secrets", True, "no endpoints configured")
        unreadable = unreadable_secrets(session, settings.secret_key)
    if unreadable:
        ids = ", ".join(str(i) for i in unreadable)
        return Check(
            "webhook secrets",
            False,
            f"endpoint {ids}: sealed under another NURTURE_SECRET_KEY, so its posts wait; "
            "restore that key, or remove the endpoint and add it again",
        )
    return Check("webhook secrets", True, "every enabled endpoint can be signed for")


def _celery_app() -> Celery:
    from workers.celery_app import app  # the worker side is loaded only when asked

    return app


def broker_check() -> Check:
    with _celery_app().connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=PING_TIMEOUT)
    return Check("broker", True, "reachable")


def ping_check(settings: Settings) -> Check:
    replies = _celery_app().control.ping(timeout=PING_TIMEOUT) or []
    nodes = sorted(name for reply in replies for name in reply)
    if not nodes:
        return Check("worker ping", False, f"no worker answered within {PING_TIMEOUT} s")
    return Check("worker ping", True, f"{len(nodes)} answered: {', '.join(nodes)}")


def chain(settings: Settings) -> list[Check]:
    """Every check, in the order delivery depends on them."""
    checks = [_guarded("database", database_check)]
    if not checks[0].ok:
        return checks  # everything else reads the database
    checks.append(_guarded("campaigns", campaigns_check))
    if is_memory_broker(settings.celery_broker_url):
        checks.append(Check("broker", True, "in-process (nurture run)"))
    else:
        checks.append(_guarded("broker", broker_check))
        if checks[-1].ok:
            checks.append(_guarded("worker ping", lambda: ping_check(settings)))
    with get_sessionmaker()() as session:
        heartbeats = read_all(session)
    checks += chain_checks(heartbeats, utcnow(), settings.dispatch_interval_seconds)
    checks.append(_guarded("webhook secrets", lambda: webhook_secrets_check(settings)))
    channels = f"email via {settings.email_channel}, texts via {settings.sms_channel}"
    checks.append(Check("channels", True, channels))
    return checks


def probe_web(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/healthz", timeout=PING_TIMEOUT
        ) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def probe_worker() -> bool:
    node = f"celery@{socket.gethostname()}"
    return bool(_celery_app().control.ping(destination=[node], timeout=PING_TIMEOUT))


def probe_beat() -> bool:
    with get_sessionmaker()() as session:
        at = read_all(session).get(BEAT)
    return at is not None and utcnow() - at <= BEAT_EVERY * MISSED


def _run_probe(probe: Probe, port: int) -> None:
    checks: dict[Probe, Callable[[], bool]] = {
        Probe.WEB: lambda: probe_web(port),
        Probe.WORKER: probe_worker,
        Probe.BEAT: probe_beat,
    }
    try:
        alive = checks[probe]()
    except (SQLAlchemyError, OSError) as exc:
        console().print(f"{probe.value}: {type(exc).__name__}")
        raise typer.Exit(1) from None
    console().print(f"{probe.value}: {'alive' if alive else 'not answering'}")
    raise typer.Exit(0 if alive else 1)


def doctor(
    probe: Annotated[
        Probe | None,
        typer.Option(help="Check only this process on this host (container healthchecks)."),
    ] = None,
    port: Annotated[int, typer.Option(help="The web port, with --probe web.")] = 8000,
) -> None:
    """Check every link of delivery and say which one is broken (exit 1 if any)."""
    settings = load_settings()
    if probe is not None:
        _run_probe(probe, port)
    checks = chain(settings)
    table = Table("check", "status", "detail")
    for check in checks:
        status = "[green]ok[/]" if check.ok else "[bold red]problem[/]"
        table.add_row(check.name, status, escape(check.detail))
    out = console()
    out.print(table)
    broken = [check.name for check in checks if not check.ok]
    if broken:
        out.print(f"[bold red]Not ready:[/] {', '.join(broken)}.")
        raise typer.Exit(1)
    out.print("[green]Ready:[/] messages due now will go out.")
