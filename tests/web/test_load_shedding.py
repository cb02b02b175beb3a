"""Past its capacity a web process answers the excess at once (503, Retry-After) instead of
queueing everyone until all are late; health checks are never shed."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from nurture.web.shedding import LoadShedding


async def slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(0.3)
    return PlainTextResponse("done")


def shedding_app() -> LoadShedding:
    app = Starlette(routes=[Route("/work", slow), Route("/healthz", slow)])
    return LoadShedding(app, max_active=2, max_wait=0.1)


async def _burst(path: str, count: int) -> list[tuple[int, float, str | None]]:
    transport = httpx.ASGITransport(app=shedding_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def one() -> tuple[int, float, str | None]:
            started = time.perf_counter()
            response = await client.get(path)
            return (
                response.status_code,
                time.perf_counter() - started,
                response.headers.get("retry-after"),
            )

        return list(await asyncio.gather(*(one() for _ in range(count))))


def burst(path: str, count: int) -> list[tuple[int, float, str | None]]:
    """`count` requests at once, on an event loop of their own thread (a browser test
    may keep one running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _burst(path, count)).result()


def test_a_burst_past_capacity_is_served_in_part_and_the_rest_told_to_retry_quickly() -> None:
    answers = burst("/work", 10)
    served = [a for a in answers if a[0] == 200]
    shed = [a for a in answers if a[0] == 503]
    assert len(served) == 2 and len(shed) == 8
    assert all(retry == "1" for _, _, retry in shed)
    # The excess is answered while the served requests are still running: nobody waits
    # behind the whole queue to be told no.
    assert max(seconds for _, seconds, _ in shed) < min(seconds for _, seconds, _ in served)


def test_health_checks_are_never_shed() -> None:
    answers = burst("/healthz", 10)
    assert [status for status, _, _ in answers] == [200] * 10
