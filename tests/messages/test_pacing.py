"""A sender's moments: N in every wall-clock second, each in the middle of its slice."""

from __future__ import annotations

import itertools
import math
import uuid
from collections import Counter

import pytest
import redis

from nurture.messages.pacing import PREFIX, MemoryPacer, RedisPacer, grant
from tests.e2e.stack import redis_available
from tests.support import REDIS_URL, need


@pytest.mark.parametrize("rate", [1, 3, 8, 100])
def test_a_backlog_gets_exactly_rate_moments_in_every_second(rate: int) -> None:
    now, free, moments = 1_000.37, 0.0, []
    for _ in range(50):  # fifty workers asking in turn, each for ten moments
        got = grant(now, free, rate, 10, max_wait=3600)
        moments += got.moments
        free = got.next_free
    per_second = Counter(math.floor(moment) for moment in moments)
    full = list(per_second.values())[1:-1]  # the first and last seconds are partial
    assert full and set(full) == {rate}
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(moments)}
    assert gaps == {round(1 / rate, 9)}


def test_each_moment_sits_in_the_middle_of_its_slice_so_jitter_keeps_it_in_its_second() -> None:
    got = grant(500.0, 0.0, 8, 8, max_wait=10)
    assert got.moments == [500.0625 + n / 8 for n in range(8)]


def test_moments_beyond_the_wait_are_not_given_and_the_sender_moves_on() -> None:
    got = grant(10.0, 0.0, 2, 10, max_wait=1.0)
    assert got.moments == [10.25, 10.75]  # 11.25 is more than a second away
    assert got.next_free == 11.25
    later = grant(10.0, got.next_free, 2, 10, max_wait=1.0)
    assert later.moments == []  # nothing free within a second


def test_a_sender_idle_for_a_while_starts_from_now() -> None:
    got = grant(100.0, 3.0, 1, 1, max_wait=1)
    assert got.moments == [100.5]


def test_two_workers_in_one_process_share_the_sender() -> None:
    pacer = MemoryPacer()
    first = pacer.slots("twilio:+12175550100", 4, 2, max_wait=5)
    second = pacer.slots("twilio:+12175550100", 4, 2, max_wait=5)
    assert set(first.moments).isdisjoint(second.moments)
    assert second.moments[0] == pytest.approx(first.moments[-1] + 0.25)
    other = pacer.slots("twilio:+12175550111", 4, 2, max_wait=5)
    assert other.moments[0] <= first.moments[0] + 0.25  # another number has its own rate


def test_workers_on_two_machines_share_the_sender_through_redis() -> None:
    need("Redis", redis_available(REDIS_URL), REDIS_URL)
    sender = f"test:{uuid.uuid4().hex}"
    one, two = RedisPacer(REDIS_URL), RedisPacer(REDIS_URL)
    try:
        moments: list[float] = []
        for pacer in (one, two, one, two):
            moments += pacer.slots(sender, 5, 3, max_wait=10).moments
        assert moments == sorted(moments) and len(moments) == 12
        assert {round(b - a, 6) for a, b in itertools.pairwise(moments)} == {0.2}
        assert {round(m * 5 % 1, 6) for m in moments} == {0.5}  # mid-slice, every one
    finally:
        redis.Redis.from_url(REDIS_URL).delete(PREFIX + sender)
