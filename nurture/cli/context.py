"""What every command needs: the settings, the database and the clock, with clear errors."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from nurture.cli.output import fail
from nurture.clinic.profile import read_effective_settings
from nurture.clock import Clock, anchored_clock
from nurture.config import Settings, get_settings
from nurture.db import get_sessionmaker
from nurture.staff.service import Actor

P = ParamSpec("P")
R = TypeVar("R")


def load_settings() -> Settings:
    """The settings from the environment; a bad value exits naming the variable."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        fail(f"the configuration is not valid: {problems}")


def clinic_settings() -> Settings:
    """The settings with the clinic settings staff saved in the console laid over them.

    Before the database exists (or is migrated) the environment's values are used; the
    commands that need the database say so themselves.
    """
    base = load_settings()
    try:
        return read_effective_settings(get_sessionmaker(), base)
    except (OperationalError, ProgrammingError):
        return base


def sessions() -> sessionmaker[Session]:
    """Sessions on the configured database."""
    load_settings()
    return get_sessionmaker()


def cli_clock() -> Clock:
    """The same clock the workers use (real, or the database-anchored accelerated one)."""
    return anchored_clock(sessions(), load_settings().time_scale)


def needs_database(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a missing or unmigrated database into an instruction instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (OperationalError, ProgrammingError) as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            fail(
                f"the database is not ready ({detail}). "
                "Run `nurture db upgrade` (and `nurture campaigns sync`) first."
            )

    return wrapper


def cli_actor() -> Actor:
    """Whoever ran the command, as the audit log records them."""
    # The audit log names the operating-system account that ran the command.
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"cli:{who}")
