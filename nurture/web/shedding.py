"""Load shedding: past its capacity a web process answers the excess at once with 503
and Retry-After, instead of queueing it until every request is late.

Each process runs at most `max_active` requests at a time (what its database pool can
serve) and lets a request wait at most `max_wait` seconds for a turn; the rest are
told to come back. /healthz and /readyz are never shed: an overloaded process is
still alive, and its monitors must be able to tell.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class LoadShedding:
    """ASGI middleware: a bounded number of requests in progress, a bounded wait."""

    def __init__(self, app: ASGIApp, *, max_active: int, max_wait: float) -> None:
        self.app = app
        self.max_wait = max_wait
        self._slots = asyncio.Semaphore(max_active)
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self.max_wait)
        except TimeoutError:
            self.shed += 1
            response = JSONResponse(
                {"errors": [{"field": "server", "message": "busy; try again in a second"}]},
                status_code=503,
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
