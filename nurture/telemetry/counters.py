"""Counters shared by every process: provider calls and webhook refusals.

Workers and web processes run on several machines, so their counts live where they
all meet: the broker's Redis (one hash per metric, fields per label set). The
embedded mode has no Redis and one process, so it counts in memory. Writers batch
their increments (a delivery batch is one round trip), and /metrics reads them.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis

log = logging.getLogger(__name__)

PROVIDER_REQUESTS = "provider_requests"  # fields: "<provider>|<channel>|<outcome>"
PROVIDER_SECONDS = "provider_seconds"  # fields: "<provider>|<channel>|<bucket or sum>"
REFUSALS = "refusals"  # fields: "<route>|<reason>": webhooks and lead capture
# Seconds: a provider answers in tens of milliseconds, and gives up after the timeout.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PREFIX = "nurture:metrics:"


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """One hand-off as seen from the outside: who, how it ended, how long it took."""

    provider: str  # "sendgrid", "twilio", "console"
    channel: str  # "email" or "sms"
    outcome: str  # "sent", "retryable", "permanent", "unknown"
    seconds: float


def bucket(seconds: float) -> str:
    """The histogram bucket a latency falls in (its upper bound, or +Inf)."""
    return next((f"{bound:g}" for bound in LATENCY_BUCKETS if seconds <= bound), "+Inf")


def increments(calls: Iterable[ProviderCall]) -> dict[str, dict[str, float]]:
    """The hash increments a batch of calls makes, by metric."""
    requests: defaultdict[str, float] = defaultdict(float)
    seconds: defaultdict[str, float] = defaultdict(float)
    for call in calls:
        who = f"{call.provider}|{call.channel}"
        requests[f"{who}|{call.outcome}"] += 1
        seconds[f"{who}|{bucket(call.seconds)}"] += 1
        seconds[f"{who}|sum"] += call.seconds
    return {PROVIDER_REQUESTS: dict(requests), PROVIDER_SECONDS: dict(seconds)}


class CounterStore(Protocol):
    def add(self, metric: str, increments: Mapping[str, float]) -> None: ...

    def read(self, metric: str) -> dict[str, float]: ...


class MemoryCounters:
    """Counters of this process only (the embedded mode, and tests)."""

    def __init__(self) -> None:
        self._values: dict[str, defaultdict[str, float]] = {}
        self._lock = threading.Lock()

    def add(self, metric: str, increments: Mapping[str, float]) -> None:
        with self._lock:
            values = self._values.setdefault(metric, defaultdict(float))
            for field, amount in increments.items():
                values[field] += amount

    def read(self, metric: str) -> dict[str, float]:
        with self._lock:
            return dict(self._values.get(metric, {}))


class RedisCounters:
    """Counters in Redis hashes, shared by every process that uses this Redis."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def add(self, metric: str, increments: Mapping[str, float]) -> None:
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for field, amount in increments.items():
                    pipe.hincrbyfloat(PREFIX + metric, field, amount)
                pipe.execute()
        except redis.RedisError as exc:
            # A metric lost while Redis restarts is not worth failing a delivery over.
            log.warning("metrics not recorded: %s", type(exc).__name__)

    def read(self, metric: str) -> dict[str, float]:
        raw: dict[bytes, bytes] = self._client.hgetall(PREFIX + metric)  # type: ignore[assignment]
        return {key.decode(): float(value) for key, value in raw.items()}


def counter_store(broker_url: str) -> CounterStore:
    """Redis when the broker is Redis, else this process's memory."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCounters(broker_url)
    return MemoryCounters()


def record_calls(store: CounterStore, calls: Iterable[ProviderCall]) -> None:
    """Count a batch of provider calls (one round trip to the store per metric)."""
    for metric, counts in increments(calls).items():
        if counts:
            store.add(metric, counts)


def record_refusal(store: CounterStore, route: str, reason: str) -> None:
    """Count one refused post (a webhook, the lead API, the download form)."""
    store.add(REFUSALS, {f"{route}|{reason}": 1})
