"""Staff accounts for tests, created through the real service."""

from __future__ import annotations

from nurture.clock import ManualClock
from nurture.staff.service import Actor, create_user
from tests.support import Database

PASSWORD = "correct horse battery staple"
SETUP = Actor("cli:test-setup")


def staff_user(
    db: Database,
    clock: ManualClock,
    email: str = "mara@riverside-pt.example",
    role: str = "marketing",
    name: str = "",
) -> int:
    """A new account with PASSWORD; returns its id."""
    with db.factory.begin() as session:
        return create_user(session, email, role, PASSWORD, clock.now(), SETUP, name=name).id
