"""The Celery app: configuration only. Tasks live in workers.tasks."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from nurture.config import get_settings
from nurture.db import get_engine
from nurture.telemetry.logs import configure_logging


def make_app() -> Celery:
    """A Celery app configured from the environment."""
    settings = get_settings()
    app = Celery("nurture", broker=settings.celery_broker_url, include=["workers.tasks"])
    if settings.celery_broker_url.startswith(("redis://", "rediss://")):
        app.conf.broker_transport = "workers.broker:Transport"
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged as a worker takes it. Work lost with a worker (or with a
        # broker restarted without persistence) is found again by the sweeper, which
        # enqueues messages still queued after NURTURE_REQUEUE_AFTER; the database, not the
        # broker, knows what is left to do. Late acks would add nothing but a failure mode:
        # a broker connection lost with unacknowledged tasks makes the worker exit (kombu
        # restores them through the connection it has just closed).
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        beat_scheduler="workers.heartbeats:HeartbeatScheduler",
        beat_schedule={
            "dispatch-due": {
                "task": "nurture.dispatch",
                "schedule": settings.dispatch_interval_seconds,
                "options": {"expires": settings.dispatch_interval_seconds * 5},
            },
            "sweep": {
                "task": "nurture.sweep",
                "schedule": settings.sweep_interval_seconds,
                "options": {"expires": settings.sweep_interval_seconds * 2},
            },
            # Outbound webhooks: the outbox is in the database, so a skipped tick loses nothing.
            "send-webhooks": {
                "task": "nurture.send_webhooks",
                "schedule": settings.webhook_interval_seconds,
                "options": {"expires": settings.webhook_interval_seconds * 2},
            },
            # The Results page reads this rollup; a stale run is dropped, the next one counts.
            "refresh-results": {
                "task": "nurture.refresh_results",
                "schedule": settings.results_refresh_seconds,
                "options": {"expires": settings.results_refresh_seconds},
            },
        },
    )
    from workers.heartbeats import WorkerHeartbeat  # it imports the database layer

    app.steps["worker"].add(WorkerHeartbeat)
    return app


@signals.setup_logging.connect
def _logging(loglevel: Any = None, **_: Any) -> None:
    # Connected, this replaces Celery's own set-up in workers and beat alike.
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    configure_logging(get_settings().logs_as_json, str(level or "INFO"))


@signals.worker_process_init.connect
def _own_connections(**_: Any) -> None:
    # A forked pool child must not reuse its parent's pooled connections (same sockets).
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)


app = make_app()
