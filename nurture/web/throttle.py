"""Per-client rate limits for what the public can post (lead capture, sign-in), with the
`limits` library: a moving window in the broker's Redis, so every web process and
machine counts together, or in memory in the embedded mode.

Windows run on real time, never on the accelerated campaign clock: a rehearsal at
1440x must not turn "10 a minute" into "10 a day".
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Over the limit: try again in `retry_after` seconds."""

    retry_after: int


class Throttle:
    """Counts hits per rule and key; says when a caller is over its limit."""

    def __init__(self, storage_uri: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, rate: str, *keys: str) -> Refusal | None:
        """Count one hit against `rate` for `keys`; a Refusal when it is one too many."""
        item: RateLimitItem = parse(rate)
        try:
            if self._limiter.hit(item, *keys):
                return None
            reset, _ = self._limiter.get_window_stats(item, *keys)
        except Exception as exc:  # the limiter's store is down: serve, do not refuse
            log.warning("rate limit not checked: %s", type(exc).__name__)
            return None
        return Refusal(max(math.ceil(reset - time.time()), 1))


def throttle_storage(broker_url: str) -> str:
    """The broker's Redis when there is one, else this process's memory."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return "memory://"


def throttle(request: Request) -> Throttle:
    """The app's throttle (an app built by hand gets one in memory)."""
    found: Throttle | None = getattr(request.app.state, "throttle", None)
    if found is None:
        found = request.app.state.throttle = Throttle("memory://")
    return found


def client_ip(request: Request) -> str:
    """The caller's address (the proxy's, unless uvicorn trusts its X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"
