"""/healthz (is this process up and can it reach its database) and /readyz (does the
whole delivery chain work: database, workers, beat and the dispatcher's recent pass)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from nurture.clock import utcnow
from nurture.health.heartbeat import read_all
from nurture.health.readiness import chain_checks
from nurture.web.deps import SessionDep, SettingsDep

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _unreachable(exc: SQLAlchemyError) -> JSONResponse:
    # The exception text may carry the database URL; its type is enough here.
    log.warning("health check: database unreachable (%s)", type(exc).__name__)
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)


@router.get("/healthz")
def healthz(session: SessionDep) -> JSONResponse:
    """200 when the database answers `select 1`, else 503 (liveness: restart me if not)."""
    try:
        session.execute(text("select 1"))
    except SQLAlchemyError as exc:
        return _unreachable(exc)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/readyz")
def readyz(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """200 when messages due now would go out: a worker answers, beat ticks, the
    dispatcher passed recently. 503 names each link that is broken."""
    try:
        heartbeats = read_all(session)
    except SQLAlchemyError as exc:
        return _unreachable(exc)
    checks = chain_checks(heartbeats, utcnow(), settings.dispatch_interval_seconds)
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "unavailable",
        "database": "ok",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JSONResponse(body, 200 if ready else 503)
