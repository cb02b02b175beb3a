"""The guards every console route declares: who may open it, and who is acting.

A route takes one of the Annotated users below; the dependency refuses anonymous
requests (login page or 401) and wrong roles (403) before the handler runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from nurture.staff.models import StaffUser
from nurture.staff.sections import roles_for
from nurture.staff.service import Actor
from nurture.web.admin.auth import require_role

# A row id in a console path: an id beyond the database's integer range is a 422, not a
# database error.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

AnyStaff = Annotated[StaffUser, Depends(require_role())]
CampaignsUser = Annotated[StaffUser, Depends(require_role(*roles_for("campaigns")))]
LeadsUser = Annotated[StaffUser, Depends(require_role(*roles_for("leads")))]
ResultsUser = Annotated[StaffUser, Depends(require_role(*roles_for("results")))]
InboxUser = Annotated[StaffUser, Depends(require_role(*roles_for("inbox")))]
BookingsUser = Annotated[StaffUser, Depends(require_role(*roles_for("bookings")))]
SettingsUser = Annotated[StaffUser, Depends(require_role(*roles_for("settings")))]
StaffAdmin = Annotated[StaffUser, Depends(require_role(*roles_for("staff")))]
WebhooksUser = Annotated[StaffUser, Depends(require_role(*roles_for("webhooks")))]


def actor(request: Request, user: StaffUser) -> Actor:
    """The signed-in member of staff as the audit log records them."""
    return Actor.of(user, request.client.host if request.client else None)
