"""The long-running processes: `serve`, `worker`, `beat`, and `run` (all three in one)."""

from __future__ import annotations

import importlib.util
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from nurture.campaigns.check import check_campaign, sync_checked
from nurture.campaigns.definition import campaign_dirs
from nurture.cli.context import cli_clock, load_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.config import Settings
from nurture.migrate import migrate
from nurture.telemetry.logs import configure_logging, logging_config

WEB_APP = "nurture.web.app:create_app"

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


def is_memory_broker(url: str) -> bool:
    """Whether the broker is kombu's in-process memory transport."""
    return url.partition("://")[0] == "memory"


class Pool(StrEnum):
    PREFORK = "prefork"
    THREADS = "threads"
    SOLO = "solo"


def _require_web_app() -> None:
    if importlib.util.find_spec("nurture.web.app") is None:
        fail("the web app (nurture/web/app.py) is not part of this checkout yet")


def _require_shared_broker(settings: Settings, command: str) -> None:
    if is_memory_broker(settings.celery_broker_url):
        fail(
            f"CELERY_BROKER_URL is memory://, which only works inside one process, so "
            f"`nurture {command}` would never see the web tier's work. Use `nurture run` for "
            "the embedded mode, or set CELERY_BROKER_URL to Redis (redis://host:6379/0)."
        )


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Proxies whose X-Forwarded-For is trusted (comma-separated)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes; capacity grows with each (about one a core).")
    ] = 1,
) -> None:
    """The web tier (uvicorn). Run `nurture db upgrade` and `campaigns sync` first."""
    _require_web_app()
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        WEB_APP,
        factory=True,
        host=host,
        port=port,
        forwarded_allow_ips=forwarded_allow_ips,
        workers=workers,
        log_config=logging_config(settings.logs_as_json),
    )


def worker(
    beat: Annotated[bool, typer.Option("--beat", help="Also run beat inside this worker.")] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Worker processes or threads (default: CPUs).")
    ] = None,
    pool: Annotated[Pool, typer.Option(help="Celery execution pool.")] = Pool.PREFORK,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """A Celery worker delivering messages (scale out by running more of them)."""
    settings = load_settings()
    _require_shared_broker(settings, "worker")
    from workers.celery_app import app

    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool.value}"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if beat:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    app.worker_main(argv)


def beat(
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Celery beat: starts the dispatcher every few seconds. Run exactly one."""
    settings = load_settings()
    _require_shared_broker(settings, "beat")
    from workers.celery_app import app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.Beat(loglevel=loglevel, schedule=str(settings.data_dir / "celerybeat-schedule")).run()


def prepare_embedded(settings: Settings) -> None:
    """Migrate and sync every valid campaign folder, so a fresh clone just works."""
    migrate(settings.database_url)
    factory, now, out = sessions(), cli_clock().now(), console()
    for folder in campaign_dirs(settings.templates_dir):
        check = check_campaign(folder, settings.templates_dir)
        if check.definition is None or check.errors:
            out.print(
                f"[yellow]not synced:[/] {escape(str(folder))} has errors "
                "(see `nurture campaigns validate`)"
            )
            continue
        result = sync_checked(factory, check, now)
        state = f"version {result.version}" + (" (new)" if result.changed else "")
        out.print(f"campaign {escape(check.definition.spec.slug)}: {state}")


@needs_database
def run(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Web, worker and beat in one process on the embedded default (SQLite, memory broker)."""
    settings = load_settings()
    if not is_memory_broker(settings.celery_broker_url):
        fail(
            "`nurture run` keeps the broker in memory inside one process, but "
            "CELERY_BROKER_URL points elsewhere. With a shared broker run the tiers "
            "separately: `nurture serve`, `nurture worker` and `nurture beat`."
        )
    _require_web_app()
    prepare_embedded(settings)
    import uvicorn

    from nurture.cli.runtime.threads import embedded_beat, embedded_worker, use_memory_broker
    from workers.celery_app import app
    from workers.context import use_context

    # Celery logs a failing task to a NullHandler unless logging is set up.
    configure_logging(settings.logs_as_json, "WARNING")
    use_memory_broker(app, polling_interval=0.1)
    use_context(None)  # the next task builds its context from these settings
    config = uvicorn.Config(WEB_APP, factory=True, host=host, port=port, log_config=None)
    server = uvicorn.Server(config)
    out = console()
    try:
        with embedded_worker(app), embedded_beat(app):
            out.print(f"[green]Nurture is running[/] on http://{host}:{port} (Ctrl-C stops it)")
            server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the signal after its own graceful shutdown
    out.print("Stopped: web, worker and beat have shut down.")
