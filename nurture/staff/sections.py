"""Which parts of the admin console each role opens: one table, read by pages and guards."""

from __future__ import annotations

from dataclasses import dataclass

from nurture.staff.models import Role


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    roles: frozenset[Role]


_MARKETING = frozenset({Role.ADMIN, Role.MARKETING})
_FRONT_DESK = frozenset({Role.ADMIN, Role.FRONTDESK})

SECTIONS = (
    Section("campaigns", "Campaigns", _MARKETING),
    Section("leads", "Leads", _MARKETING),
    Section("results", "Results", _MARKETING),
    Section("inbox", "Inbox", _FRONT_DESK),
    Section("bookings", "Bookings", _FRONT_DESK),
    Section("staff", "Staff accounts and audit log", frozenset({Role.ADMIN})),
)


def roles_for(key: str) -> frozenset[Role]:
    """The roles that may open the section `key`."""
    return next(section.roles for section in SECTIONS if section.key == key)


def sections_for(role: str) -> list[Section]:
    """The sections a member of staff with `role` may open, in menu order."""
    return [section for section in SECTIONS if role in section.roles]
