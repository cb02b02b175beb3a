"""What every task in a worker process shares, built once per process and handed to
tasks through their base class (as Warehouse's tasks get their request context), so no
task keeps module globals and a test or the demo swaps the whole context at once.

Built lazily, on the first task a process runs: a prefork child builds its own after
the fork, never inheriting the parent's connections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from celery import Task
from sqlalchemy.orm import Session, sessionmaker

from nurture.clinic.profile import read_effective_settings, stored_overrides
from nurture.clock import Clock, anchored_clock
from nurture.config import Settings, get_settings
from nurture.db import get_sessionmaker
from nurture.messages.channels.base import EmailChannel, SmsChannel
from nurture.messages.channels.factory import email_channel, sms_channel
from nurture.messages.deliver import Delivery
from nurture.messages.pacing import Pacer, pacer_for
from nurture.telemetry.counters import CounterStore, counter_store

Enqueue = Callable[[Sequence[int]], None]
Overrides = tuple[tuple[str, str], ...]


class WorkerContext:
    """Settings, sessions, clock, channels and delivery for the tasks of one process."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sessions: sessionmaker[Session] | None = None,
        enqueue: Enqueue | None = None,
    ) -> None:
        self.settings = get_settings()
        self.sessions = sessions or get_sessionmaker()
        self.enqueue = enqueue  # None: the delivery task's own queue
        self._given_clock = clock
        self._deliveries: dict[Overrides, Delivery] = {}

    @cached_property
    def clock(self) -> Clock:
        return self._given_clock or anchored_clock(self.sessions, self.settings.time_scale)

    @cached_property
    def channels(self) -> tuple[EmailChannel, SmsChannel]:
        return email_channel(self.settings), sms_channel(self.settings)

    @cached_property
    def pacer(self) -> Pacer:
        return pacer_for(self.settings.celery_broker_url)

    @cached_property
    def counters(self) -> CounterStore:
        return counter_store(self.settings.celery_broker_url)

    def _overrides(self) -> Overrides:
        with self.sessions() as session:
            return tuple(sorted(stored_overrides(session).items()))

    def clinic_settings(self) -> Settings:
        """The environment's settings with the clinic settings staff saved, read now."""
        return read_effective_settings(self.sessions, self.settings)

    def delivery(self) -> Delivery:
        """Delivery with the clinic settings as saved now (one key lookup per batch).

        Kept while those settings stay the same, so its campaign cache lives on.
        """
        overrides = self._overrides()
        if overrides not in self._deliveries:
            self._deliveries.clear()
            self._deliveries[overrides] = Delivery(
                self.sessions,
                self.clock,
                self.settings.model_copy(update=dict(overrides)),
                *self.channels,
                counters=self.counters,
                pacer=self.pacer,
            )
        return self._deliveries[overrides]


_current: WorkerContext | None = None


def worker_context() -> WorkerContext:
    """This process's context, built on first use."""
    global _current
    if _current is None:
        _current = WorkerContext()
    return _current


def use_context(context: WorkerContext | None) -> None:
    """Run this process's tasks with `context` (None: build a fresh one when next needed,
    from the settings then in force)."""
    global _current
    _current = context


class ContextTask(Task[Any, Any]):
    """The base class of Nurture's tasks: `self.context` is the process's WorkerContext."""

    @property
    def context(self) -> WorkerContext:
        return worker_context()
