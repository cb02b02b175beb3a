"""A Celery worker and beat as threads of this process, on the in-memory broker.

kombu's memory transport only connects producers and consumers inside one process,
so the embedded mode (`nurture run`, `nurture demo`) keeps them here: a solo-pool
worker (SQLite has one writer anyway) and beat, each in a thread, while the main
thread keeps the signals (uvicorn's Ctrl-C handling, or the demo's own loop).
This is runtime wiring, not domain code: it is the one place in `nurture/` that
knows about Celery besides the CLI commands that start it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery, signals
from celery.beat import Service
from celery.worker import state as worker_state
from celery.worker.worker import WorkController

# The tasks whose work an idle queue must have finished: the outbound webhooks' posts too.
OUR_TASKS = frozenset(
    {"nurture.dispatch", "nurture.deliver", "nurture.sweep", "nurture.send_webhooks"}
)
WAKE_TASK = "nurture.embedded.wake"


def use_memory_broker(app: Celery, polling_interval: float) -> None:
    """Point the app at the memory broker, polled often (its default is once a second)."""
    options = dict(app.conf.broker_transport_options or {})
    options["polling_interval"] = polling_interval
    app.conf.update(broker_url="memory://", broker_transport_options=options)


class TaskTracker:
    """Counts our tasks published but not finished, so a runner can wait for an idle queue.

    A task publishes its follow-ups (dispatch -> deliver) before it finishes, so the
    count never touches zero while work is still flowing.
    """

    def __init__(self) -> None:
        self._pending = 0
        self._changed = threading.Condition()
        # Celery logs task errors to a NullHandler unless logging is set up: keep them.
        self.failures: list[str] = []

    def _published(self, sender: object = None, **_: Any) -> None:
        if sender in OUR_TASKS:
            with self._changed:
                self._pending += 1

    def _finished(self, sender: object = None, **_: Any) -> None:
        if getattr(sender, "name", None) in OUR_TASKS:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

    def _failed(self, sender: object = None, exception: object = None, **_: Any) -> None:
        name = getattr(sender, "name", None)
        if name in OUR_TASKS:
            self.failures.append(f"{name}: {exception!r}")

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing we published is still queued or running; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending <= 0, timeout)

    @contextmanager
    def connected(self) -> Iterator[TaskTracker]:
        """Listen to Celery's publish and finish signals for the duration of the block."""
        signals.after_task_publish.connect(self._published, weak=False)
        signals.task_postrun.connect(self._finished, weak=False)
        signals.task_revoked.connect(self._finished, weak=False)
        signals.task_failure.connect(self._failed, weak=False)
        try:
            yield self
        finally:
            signals.after_task_publish.disconnect(self._published)
            signals.task_postrun.disconnect(self._finished)
            signals.task_revoked.disconnect(self._finished)
            signals.task_failure.disconnect(self._failed)


def _wake() -> None:
    """Does nothing: receiving it makes an idle worker notice it should stop."""


class _ThreadWorker(WorkController):
    """A worker that says when its consumer is ready to take tasks."""

    def __init__(self, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(**kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


@contextmanager
def embedded_worker(
    app: Celery, *, startup_timeout: float = 30.0, shutdown_timeout: float = 60.0
) -> Iterator[WorkController]:
    """A solo-pool worker consuming in a background thread until the block ends."""
    app.finalize()
    app.set_current()
    wake = app.tasks.get(WAKE_TASK) or app.task(name=WAKE_TASK, shared=False)(_wake)
    worker = _ThreadWorker(
        app=app,
        hostname=f"embedded@{socket.gethostname()}",
        pool="solo",
        concurrency=1,
        loglevel="WARNING",
        # Heartbeats, mingle and gossip talk to other workers; there are none.
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )

    def consume() -> None:
        app.set_current()  # the current app is per thread: tasks are looked up in it
        worker.start()

    thread = threading.Thread(target=consume, name="celery-worker", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not worker.ready.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the embedded Celery worker did not start")
    try:
        yield worker
    finally:
        # The worker's loop checks this flag between tasks: a warm shutdown that lets
        # the running task finish. The worker's own stop() is meant for signal handlers.
        worker_state.should_stop = 0  # type: ignore[assignment]  # the stubs say None only
        # An idle worker blocks up to 2 s waiting for a message, and after it sees the
        # flag it still runs one more receive: a message for each ends both waits at once.
        wake.delay()
        wake.delay()
        thread.join(shutdown_timeout)
        worker_state.should_stop = None
        if thread.is_alive():
            raise RuntimeError("the embedded Celery worker did not stop in time")


@contextmanager
def embedded_beat(app: Celery) -> Iterator[Service]:
    """Celery beat in a background thread (what `EmbeddedService(thread=True)` builds).

    The in-memory scheduler keeps no schedule file: the entries are short intervals,
    so after a restart they simply start over.
    """
    from workers.heartbeats import MemoryHeartbeatScheduler

    service = Service(app, max_interval=1, scheduler_cls=MemoryHeartbeatScheduler)
    thread = threading.Thread(target=service.start, name="celery-beat", daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop(wait=True)
        thread.join(10)
