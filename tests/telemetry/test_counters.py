"""Provider and webhook counters: shared through Redis by every process, in memory when embedded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from nurture.telemetry.counters import (
    PREFIX,
    MemoryCounters,
    ProviderCall,
    RedisCounters,
    bucket,
    counter_store,
    increments,
)
from tests.e2e.stack import redis_available
from tests.support import REDIS_URL, need


def test_a_latency_falls_in_the_smallest_bucket_that_holds_it() -> None:
    assert bucket(0.01) == "0.025"
    assert bucket(0.025) == "0.025"
    assert bucket(0.3) == "0.5"
    assert bucket(31) == "+Inf"


def test_a_batch_of_calls_becomes_one_increment_per_label_set() -> None:
    counts = increments(
        [
            ProviderCall("twilio", "sms", "sent", 0.04),
            ProviderCall("twilio", "sms", "sent", 0.2),
            ProviderCall("twilio", "sms", "retryable", 0.01),
        ]
    )
    assert counts["provider_requests"] == {"twilio|sms|sent": 2, "twilio|sms|retryable": 1}
    assert counts["provider_seconds"]["twilio|sms|0.05"] == 1
    assert counts["provider_seconds"]["twilio|sms|sum"] == pytest.approx(0.25)


def test_the_embedded_mode_counts_in_memory() -> None:
    assert isinstance(counter_store("memory://"), MemoryCounters)
    assert isinstance(counter_store("redis://127.0.0.1:6379/0"), RedisCounters)


@pytest.fixture
def metric() -> Iterator[str]:
    need("Redis", redis_available(REDIS_URL), REDIS_URL)
    name = f"test_{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(PREFIX + name)


def test_counts_from_two_processes_add_up_in_redis(metric: str) -> None:
    worker_a, worker_b, web = (RedisCounters(REDIS_URL) for _ in range(3))
    worker_a.add(metric, {"sendgrid|email|sent": 2, "sendgrid|email|sum": 0.5})
    worker_b.add(metric, {"sendgrid|email|sent": 1, "sendgrid|email|sum": 0.25})
    assert web.read(metric) == {"sendgrid|email|sent": 3, "sendgrid|email|sum": 0.75}


def test_a_redis_outage_loses_the_count_but_never_the_delivery() -> None:
    store = RedisCounters("redis://127.0.0.1:1/0")  # nothing listens on port 1
    store.add("provider_requests", {"twilio|sms|sent": 1})  # logged, not raised
