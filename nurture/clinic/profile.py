"""The clinic settings staff saved, laid over the environment's.

The environment (nurture.config.Settings) gives the defaults. Once staff save the
settings page, the fields they changed are kept in one clinic_settings row, and every
unit of work (a web request, a dispatcher pass, a delivery batch) reads them with
`effective_settings`: one primary-key lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.models import ClinicSetting
from nurture.clinic import fields
from nurture.config import Settings

PROFILE_KEY = "profile"
# The Settings fields staff may change, with the check each saved value must pass.
CHECKS = {
    "clinic_name": fields.clinic_name,
    "clinic_address": fields.clinic_address,
    "clinic_phone": fields.clinic_phone,
    "clinic_timezone": fields.clinic_timezone,
    "sms_sending_hours": fields.sms_sending_hours,
    "email_sending_hours": fields.email_sending_hours,
}


# Saved under their earlier names before the allowed hours were called sending hours.
FORMER_NAMES = {"sms_sending_hours": "sms_quiet_hours", "email_sending_hours": "email_quiet_hours"}


def _valid(saved: Mapping[str, Any]) -> dict[str, str]:
    # A value that no longer passes its check (say, a zone dropped from tzdata) falls
    # back to the environment's instead of breaking every page and every send.
    overrides: dict[str, str] = {}
    for name, check in CHECKS.items():
        value = saved.get(name, saved.get(FORMER_NAMES.get(name, "")))
        if isinstance(value, str):
            try:
                overrides[name] = check(value)
            except ValueError:
                continue
    return overrides


def stored_overrides(session: Session) -> dict[str, str]:
    """The settings staff saved, by Settings field name (empty before the first save)."""
    row = session.get(ClinicSetting, PROFILE_KEY)
    return _valid(row.value) if row is not None and isinstance(row.value, dict) else {}


def effective_settings(session: Session, base: Settings) -> Settings:
    """`base` with the saved clinic settings applied."""
    overrides = stored_overrides(session)
    return base.model_copy(update=overrides) if overrides else base


def read_effective_settings(factory: sessionmaker[Session], base: Settings) -> Settings:
    """`effective_settings` read in a short session of their own (workers, the CLI)."""
    with factory() as session:
        return effective_settings(session, base)


def save_overrides(session: Session, changes: Mapping[str, str], now: datetime) -> None:
    """Store checked values for some fields; the others keep following the environment."""
    unknown = set(changes) - set(CHECKS)
    if unknown:
        raise KeyError(f"not a clinic setting: {', '.join(sorted(unknown))}")
    row = session.get(ClinicSetting, PROFILE_KEY)
    if row is None:
        session.add(ClinicSetting(key=PROFILE_KEY, value=dict(changes), updated_at=now))
    else:
        # A new dict, so the JSON column sees the change.
        row.value, row.updated_at = {**row.value, **changes}, now
    session.flush()
