"""Every console route the app serves, the section it belongs to and who may use it.

Read from the running app's routes, never listed by hand, so a page added tomorrow is
checked by the access and escaping tests the day it lands. A route's section is the
first path segment after /admin (or /admin/api): /admin/leads/{id} and
/admin/api/leads/{id} both belong to "leads", whose roles come from
nurture.staff.sections, the table the guards themselves read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from nurture.staff.models import Role
from nurture.staff.sections import SECTIONS

API = "/admin/api"
# Signing in and out is for people without a session; their own tests cover them.
SIGN_IN_ROUTES = frozenset({"/admin/login", "/admin/logout"})
# Open to every signed-in role, whatever section they work in.
ANY_STAFF_ROUTES = frozenset({"/admin", "/admin/api/me"})
SECTION_BY_KEY = {section.key: section for section in SECTIONS}
# The menu's links name each section's home: /admin/leads belongs to "leads"...
SECTION_BY_SEGMENT = {section.href.removeprefix("/admin/"): section for section in SECTIONS}
# ...and a few JSON endpoints are named for what they serve, not for their section.
SECTION_BY_SEGMENT["imports"] = SECTION_BY_KEY["leads"]  # /admin/api/imports/{job_id}
ALL_ROLES = frozenset(Role)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Stand-ins for ids nobody seeded: the first one a parameter's path pattern accepts.
DUMMIES = ("999999", "9" * 32, "00000000-0000-4000-8000-000000000000", "x")
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


class RouteOutsideSections(AssertionError):
    """A console route whose path names no section, so nobody can say who may use it."""


@dataclass(frozen=True, slots=True)
class ConsoleRoute:
    """One method of one console route."""

    method: str
    path: str  # the template, e.g. /admin/leads/{public_id}
    section: str | None  # None: any signed-in member of staff
    roles: frozenset[Role]
    dummies: dict[str, str] = field(compare=False)  # a value each parameter's pattern accepts

    @property
    def api(self) -> bool:
        """Whether this is a JSON endpoint (401/403 JSON) rather than a page (redirect)."""
        return self.path == API or self.path.startswith(API + "/")

    @property
    def unsafe(self) -> bool:
        """Whether the method changes things, so it must carry the CSRF token."""
        return self.method in UNSAFE_METHODS

    @property
    def params(self) -> list[str]:
        """The path parameters' names, in order."""
        return PARAM.findall(self.path)

    def url(self, values: Mapping[str, str] | None = None) -> str:
        """The path with each parameter filled from `values`, or a dummy that names nothing."""
        known = values or {}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return known.get(name, self.dummies.get(name, DUMMIES[0]))

        return PARAM.sub(fill, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def section_of(path: str) -> str | None:
    """The section key of a console path; None for the routes any staff may open."""
    if path in ANY_STAFF_ROUTES:
        return None
    rest = path.removeprefix(API) if path.startswith(API + "/") else path
    segment = rest.removeprefix("/admin").strip("/").split("/", 1)[0]
    # "/admin/leads.csv" and "/admin/leads/{id}" are both in the leads section.
    segment = re.split(r"[.{]", segment, maxsplit=1)[0]
    if segment not in SECTION_BY_SEGMENT:
        raise RouteOutsideSections(
            f"{path} is under no section of nurture.staff.sections: put it under one of "
            f"{sorted(SECTION_BY_SEGMENT)} or, if every role may open it, in ANY_STAFF_ROUTES"
        )
    return SECTION_BY_SEGMENT[segment].key


def console_routes(app: FastAPI) -> list[ConsoleRoute]:
    """Every method of every /admin route except sign-in and sign-out, in path order."""
    found: list[ConsoleRoute] = []
    # FastAPI keeps included routers nested; the contexts are the routes as served.
    for route in iter_route_contexts(app.routes):
        path = route.path
        if not isinstance(route.original_route, APIRoute) or path is None:
            continue
        if not (path == "/admin" or path.startswith("/admin/")) or path in SIGN_IN_ROUTES:
            continue
        section = section_of(path)
        roles = ALL_ROLES if section is None else SECTION_BY_KEY[section].roles
        dummies = {name: _dummy(kind) for name, kind in route.param_convertors.items()}
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append(ConsoleRoute(method, path, section, roles, dummies))
    return sorted(found, key=lambda r: (r.path, r.method))


def _dummy(convertor: Any) -> str:
    """A value the path pattern accepts, so the request reaches the route's guards."""
    pattern = re.compile(str(getattr(convertor, "regex", "[^/]+")))
    return next((value for value in DUMMIES if pattern.fullmatch(value)), DUMMIES[0])
