"""GET /metrics for Prometheus, behind a bearer token (METRICS_TOKEN): the outbox's
shape and provider latencies are not for the public. Without a token it does not exist."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nurture.telemetry.counters import CounterStore, MemoryCounters, record_refusal
from nurture.telemetry.metrics import NurtureCollector, exposition
from nurture.web.deps import get_app_settings, get_clock, get_session_factory

router = APIRouter(include_in_schema=False)


def counters(request: Request) -> CounterStore:
    """The counter store the app was created with (an app built by hand counts in memory)."""
    store: CounterStore | None = getattr(request.app.state, "counters", None)
    if store is None:
        store = request.app.state.counters = MemoryCounters()
    return store


def count_refusal(request: Request, route: str, reason: str) -> None:
    """Count a refused post (nurture_refusals_total)."""
    record_refusal(counters(request), route, reason)


def _authorised(expected: str, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip(), expected)


@router.get("/metrics")
async def metrics(
    request: Request, factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]
) -> Response:
    """The metrics in Prometheus's text format; 404 unless the right bearer token is sent."""
    settings = get_app_settings(request)
    token = settings.metrics_token
    if not token or not _authorised(token, request.headers.get("authorization")):
        raise HTTPException(404)  # no hint that it exists
    collector = NurtureCollector(
        factory, get_clock(request), counters(request), settings.time_scale
    )
    body = await run_in_threadpool(exposition, collector)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
