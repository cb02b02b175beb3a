"""Per-sender send rates that hold across every worker: a provider's limit (a long code
sends about one text a second) is the sender's, however many workers share it.

A sender limited to N a second has N moments in every wall-clock second, at the middle
of each 1/N slice: 08:00:00.0625, .1875, ... for N = 8. Asking for n moments returns the
free ones that fall within `max_wait` of now, and the sender's next free moment moves
past them. A worker hands each message off at its moment; the ones it got no moment for
wait in the outbox instead of in the worker. So no wall-clock second ever holds more
than N sends, and a backlog goes at exactly N a second. Sends aimed at the middle of
their slice can be late or early by up to half a slice (62 ms at 8 a second) and still
land in their own second, which absorbs the jitter of a real hand-off.

Shared through Redis (a Lua script on Redis's own clock, so every worker and machine
agrees), or in this process's memory in the embedded mode. Moments are Unix times.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis

log = logging.getLogger(__name__)
PREFIX = "nurture:sender:"


@dataclass(frozen=True, slots=True)
class Slots:
    """The moments granted (Unix times), and the sender's next free moment after them."""

    moments: list[float]
    now: float
    next_free: float


class Pacer(Protocol):
    def slots(self, sender: str, rate: float, wanted: int, max_wait: float) -> Slots: ...


def grant(now: float, free: float, rate: float, wanted: int, max_wait: float) -> Slots:
    """The moments of `rate`'s schedule from `free` on, within `max_wait` of `now`."""
    # The slice the start falls in (a hair of tolerance: 1/3 is not exact in binary).
    first = math.ceil(max(free, now) * rate - 0.5 - 1e-6)
    moments: list[float] = []
    while len(moments) < wanted and (first + len(moments) + 0.5) / rate - now <= max_wait:
        moments.append((first + len(moments) + 0.5) / rate)
    return Slots(moments, now, (first + len(moments) + 0.5) / rate)


class MemoryPacer:
    """Rates kept in this process (the embedded mode: one process sends everything)."""

    def __init__(self) -> None:
        self._free: dict[str, float] = {}
        self._lock = threading.Lock()

    def slots(self, sender: str, rate: float, wanted: int, max_wait: float) -> Slots:
        with self._lock:
            now = time.time()
            granted = grant(now, self._free.get(sender, now), rate, wanted, max_wait)
            self._free[sender] = granted.next_free
            return granted


# KEYS[1]: the sender's next free moment. ARGV: rate, wanted, max_wait. The same schedule
# as `grant`, on Redis's clock. Returns the moments, then now and the next free moment.
_SLOTS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local rate, wanted, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free < now then free = now end
local first = math.ceil(free * rate - 0.5 - 0.000001)
local granted = {}
local moment = (first + 0.5) / rate
while #granted < wanted and moment - now <= max_wait do
  granted[#granted + 1] = string.format('%.6f', moment)
  moment = (first + #granted + 0.5) / rate
end
redis.call('SET', KEYS[1], string.format('%.6f', moment), 'EX', math.ceil(moment - now) + 60)
granted[#granted + 1] = string.format('%.6f', now)
granted[#granted + 1] = string.format('%.6f', moment)
return granted
"""


class RedisPacer:
    """Rates shared by every process that uses this Redis."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_SLOTS)
        self._fallback = MemoryPacer()

    def slots(self, sender: str, rate: float, wanted: int, max_wait: float) -> Slots:
        try:
            raw = self._script(keys=[PREFIX + sender], args=[rate, wanted, max_wait])
        except redis.RedisError as exc:
            # Redis is away: pace this process alone rather than stop sending. The
            # rate then holds per worker process, not across them, until it is back.
            log.warning("sender rate kept locally: %s", type(exc).__name__)
            return self._fallback.slots(sender, rate, wanted, max_wait)
        values = [float(value) for value in raw]
        return Slots(values[:-2], values[-2], values[-1])


def pacer_for(broker_url: str) -> Pacer:
    """Redis when the broker is Redis, else this process's memory."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisPacer(broker_url)
    return MemoryPacer()
