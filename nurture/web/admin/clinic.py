"""Console pages: the clinic settings (admin only).

Name, address, phone, time zone and sending hours are saved over the environment's
defaults (nurture.clinic.profile); screening hours are the booking availability
(nurture.booking.availability). One save is one audit entry naming what changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.booking.availability import (
    WEEKDAYS,
    Availability,
    default_availability,
    save_availability,
    stored_availability,
)
from nurture.clinic.fields import US_ZONES
from nurture.clinic.form import (
    LABELS,
    CheckedForm,
    change_label,
    check_form,
    form_values,
    hours_field,
)
from nurture.clinic.profile import save_overrides
from nurture.config import Settings
from nurture.locations.directory import Locations, Place
from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.web.admin.auth import CSRF_FIELD, check_csrf
from nurture.web.admin.deps import SettingsUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep
from nurture.web.pages import display_phone

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
PAGE = "/admin/settings"


async def typed_form(request: Request) -> dict[str, str]:
    """The submitted fields as text (check_csrf has already read the body)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


TypedForm = Annotated[dict[str, str], Depends(typed_form)]


def _availability(session: Session, settings: Settings) -> Availability:
    # Shown without storing: the shipped hours are only pinned when staff save them.
    return stored_availability(session) or default_availability(settings)


def _places(session: Session, settings: Settings) -> list[tuple[Place, Settings]]:
    """Each location with the settings it sends and books under."""
    locations = Locations.load(session)
    return [(place, locations.settings(settings, place.id)) for place in locations]


def _page(
    request: Request,
    user: StaffUser,
    values: dict[str, str],
    places: list[tuple[Place, Settings]],
    checked: CheckedForm | None = None,
    status_code: int = 200,
) -> Response:
    zones = list(US_ZONES)
    if values["clinic_timezone"] not in zones:
        zones.insert(0, values["clinic_timezone"])
    context = {
        "values": values,
        "labels": LABELS,
        "zones": zones,
        "days": [(day.capitalize(), hours_field(day)) for day in WEEKDAYS],
        "problems": checked.problems if checked else {},
        "problem_list": checked.problem_list() if checked else [],
        # Shown only for a group: one clinic's only location is the clinic itself.
        "places": places if len(places) > 1 else [],
    }
    return admin_page(
        request, user, "clinic/settings.html", context, status_code, section="settings"
    )


@router.get("/settings")
def settings_form(
    request: Request, user: SettingsUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The clinic settings as they are in force now."""
    values = form_values(settings, _availability(session, settings))
    values["clinic_phone"] = display_phone(values["clinic_phone"])
    return _page(request, user, values, _places(session, settings))


@router.post("/settings")
def save_settings(
    request: Request,
    user: SettingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    typed: TypedForm,
) -> Response:
    """Check every field; save what changed and audit it, or show the form again."""
    availability = _availability(session, settings)
    checked = check_form(session, typed, settings, availability)
    if checked.problems:
        values = {**form_values(settings, availability), **typed}
        return _page(request, user, values, _places(session, settings), checked, 422)
    if not checked.changes:
        return redirect_with_notice(request, PAGE, "Nothing changed.")
    now = clock.now()
    if checked.profile:
        save_overrides(session, checked.profile, now)
    if checked.availability is not None:
        save_availability(session, checked.availability, now)
    # Settings are not personal data: the old and new values go in the log as they are.
    detail = {"fields": checked.changes}
    record_audit(session, actor(request, user), "settings.changed", now, "clinic", detail)
    session.commit()
    saved = ", ".join(change_label(name) for name in checked.changes)
    return redirect_with_notice(request, PAGE, f"Saved: {saved}.")
