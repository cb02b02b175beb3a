"""Console pages: lead_import (being built)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from nurture.web.admin.auth import check_csrf

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
