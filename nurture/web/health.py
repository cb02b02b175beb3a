"""/healthz: is this process up, and can it reach its database?"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from nurture.web.deps import SessionDep

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz")
def healthz(session: SessionDep) -> JSONResponse:
    """200 when the database answers `select 1`, else 503."""
    try:
        session.execute(text("select 1"))
    except SQLAlchemyError as exc:
        # The exception text may carry the database URL; its type is enough here.
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
