"""Heartbeats from the Celery processes: a worker bootstep and beat schedulers.

/readyz and `nurture doctor` read them (nurture.health.readiness). A heartbeat that
cannot be written (the database is restarting) is logged and tried again next time;
it never stops the worker or beat.

The worker's heartbeat runs in the pool's parent process. It opens a connection per
beat and keeps none: a pooled connection held by the parent would be inherited by
every forked child, and two processes talking over one socket corrupt both.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from functools import lru_cache
from typing import Any

from celery import bootsteps
from celery.beat import PersistentScheduler, Scheduler
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from nurture.config import get_settings
from nurture.db import make_engine
from nurture.health.heartbeat import BEAT, WORKER_PREFIX, forget, record_now
from nurture.health.readiness import BEAT_EVERY, WORKER_EVERY

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _sessions() -> sessionmaker[Session]:
    engine = make_engine(get_settings().database_url, poolclass=NullPool)
    return sessionmaker(engine)


def _record(name: str) -> None:
    try:
        record_now(_sessions(), name)
    except SQLAlchemyError as exc:
        log.warning("heartbeat %s not recorded: %s", name, type(exc).__name__)


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Records `worker:<node name>` every WORKER_EVERY seconds from the worker's timer."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer_ref: Any = None
        self.heartbeat = ""

    def start(self, worker: Any) -> None:
        self.heartbeat = WORKER_PREFIX + worker.hostname
        _record(self.heartbeat)
        self.timer_ref = worker.timer.call_repeatedly(
            WORKER_EVERY.total_seconds(), _record, (self.heartbeat,)
        )

    def stop(self, worker: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
        with suppress(SQLAlchemyError):  # if not, it ages out of the checks by itself
            forget(_sessions(), self.heartbeat)


class _BeatHeartbeat:
    """Mixin: record `beat` from the scheduler loop, at most every BEAT_EVERY seconds."""

    _last_heartbeat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if time.monotonic() - self._last_heartbeat >= BEAT_EVERY.total_seconds():
            self._last_heartbeat = time.monotonic()
            _record(BEAT)
        wait: float = super().tick(*args, **kwargs)  # type: ignore[misc]
        return min(wait, BEAT_EVERY.total_seconds())


class HeartbeatScheduler(_BeatHeartbeat, PersistentScheduler):
    """`nurture beat`'s scheduler: the schedule file as usual, plus the heartbeat."""


class MemoryHeartbeatScheduler(_BeatHeartbeat, Scheduler):
    """The embedded beat's scheduler (no schedule file), plus the heartbeat."""
