"""Hand-offs to the providers, several at a time, each at its sender's pace.

A worker process keeps a small pool of threads: provider calls spend their time waiting
on the network, so eight in flight cost little more than one. Each job first waits for
the moment its sender's rate gave it (nurture.messages.pacing), then calls the channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.senders import Sender

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A claimed message, rendered and let through by the gate, ready to hand off."""

    message_id: int
    outbound: OutboundEmail | OutboundSms
    attempt: int  # this hand-off's number (1 for the first)
    sender: Sender
    moment: float = 0.0  # the Unix time its sender's rate gave it (0: at once)
    note: str | None = None  # why its branch was taken, recorded when it is sent


class HandOffs(Generic[T]):
    """Runs `send` for each prepared message on a bounded pool, at its moment."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None

    def run(self, jobs: Sequence[Prepared], send: Callable[[Prepared], T]) -> list[T]:
        """Each job's result, in the order of `jobs`."""
        if len(jobs) <= 1 and not any(job.moment for job in jobs):
            return [send(job) for job in jobs]  # nothing to overlap: stay on this thread
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="hand-off")

        def at_its_moment(job: Prepared) -> T:
            wait = job.moment - time.time()
            if wait > 0:
                time.sleep(wait)
            return send(job)

        return list(self._pool.map(at_its_moment, jobs))

    def close(self) -> None:
        """Let running hand-offs finish, then stop the threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
