"""`nurture locations`: the clinics of a group, kept in a YAML file like the campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nurture.cli.context import cli_actor, cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.locations.directory import Locations, overlay
from nurture.locations.spec import LocationsError, read_locations_file, sync_locations
from nurture.staff.models import StaffUser
from nurture.staff.service import find_user, record_audit

app = typer.Typer(help="The clinic's locations: senders, hours and zones.", no_args_is_help=True)


@app.command("list")
@needs_database
def list_command() -> None:
    """Every location, with what it changes from the clinic's settings."""
    settings = clinic_settings()
    with sessions()() as session:
        places = list(Locations.load(session))
    table = Table("slug", "name", "zone", "texts from", "rate/s", "own hours", "matches")
    for place in places:
        local = overlay(settings, place)
        sender = place.sms_sender or "the clinic's"
        table.add_row(
            escape(place.slug),
            escape(place.label(settings)),
            local.clinic_timezone,
            escape(sender),
            f"{local.sms_send_rate:g}",
            "yes" if place.availability else "clinic's",
            escape(", ".join([*place.zip_prefixes, *place.area_codes]) or "-"),
        )
    console().print(table)


@app.command()
@needs_database
def sync(
    file: Annotated[Path, typer.Argument(help="A YAML file with a `locations:` list.")],
) -> None:
    """Create or update the locations in FILE by slug (none is ever deleted)."""
    try:
        specs = read_locations_file(file)
    except LocationsError as exc:
        fail("The locations file has problems:\n  " + "\n  ".join(exc.problems))
    now = cli_clock().now()
    with sessions().begin() as session:
        created, updated = sync_locations(session, specs, now)
        detail = {"created": created, "updated": updated}
        record_audit(session, cli_actor(), "locations.synced", now, str(file.name), detail)
    console().print(
        f"Locations synced: {len(created)} new ({escape(', '.join(created) or '-')}), "
        f"{len(updated)} updated ({escape(', '.join(updated) or '-')})."
    )


@app.command("limit-staff")
@needs_database
def limit_staff(
    email: Annotated[str, typer.Argument(help="The staff member's sign-in email.")],
    slugs: Annotated[
        list[str] | None, typer.Argument(help="Their locations; none: every location.")
    ] = None,
) -> None:
    """Limit a member of staff (a front desk) to the inbox and bookings of some locations."""
    now = cli_clock().now()
    with sessions().begin() as session:
        user: StaffUser | None = find_user(session, email)
        if user is None:
            fail(f"No staff account has the email {email!r}.")
        locations = Locations.load(session)
        ids = []
        for slug in slugs or []:
            place = locations.by_slug(slug)
            if place is None:
                fail(f"No location is called {slug!r}: see `nurture locations list`.")
            ids.append(place.id)
        user.location_ids = sorted(set(ids)) or None
        detail = {"locations": sorted({s.lower() for s in slugs or []})}
        record_audit(session, cli_actor(), "staff.locations", now, user.email, detail)
    where = ", ".join(slugs) if slugs else "every location"
    console().print(f"{escape(email)} now sees {escape(where)}.")
