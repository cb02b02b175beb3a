"""Which parts of the admin console each role opens: one table, read by pages and guards."""

from __future__ import annotations

from dataclasses import dataclass

from nurture.staff.models import Role


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    href: str
    roles: frozenset[Role]


_MARKETING = frozenset({Role.ADMIN, Role.MARKETING})
_FRONT_DESK = frozenset({Role.ADMIN, Role.FRONTDESK})
_ADMIN = frozenset({Role.ADMIN})

SECTIONS = (
    Section("campaigns", "Campaigns", "/admin/campaigns", _MARKETING),
    Section("leads", "Leads", "/admin/leads", _MARKETING),
    Section("results", "Results", "/admin/results", _MARKETING),
    Section("inbox", "Inbox", "/admin/inbox", _FRONT_DESK),
    Section("bookings", "Bookings", "/admin/bookings", _FRONT_DESK),
    Section("settings", "Clinic settings", "/admin/settings", _ADMIN),
    Section("webhooks", "Webhooks", "/admin/webhooks", _ADMIN),
    Section("staff", "Staff and audit log", "/admin/staff", _ADMIN),
)


def roles_for(key: str) -> frozenset[Role]:
    """The roles that may open the section `key`."""
    return next(section.roles for section in SECTIONS if section.key == key)


def sections_for(role: str) -> list[Section]:
    """The sections a member of staff with `role` may open, in menu order."""
    return [section for section in SECTIONS if role in section.roles]
