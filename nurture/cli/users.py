"""`nurture users`: create staff accounts for the admin console and list them."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from nurture.cli.context import cli_actor, cli_clock, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.staff.models import Role, StaffUser
from nurture.staff.service import StaffError, create_user, find_user, parse_role

app = typer.Typer(help="Staff accounts for the admin console.", no_args_is_help=True)
ROLES = ", ".join(role.value for role in Role)


def _read_password() -> str:
    """Typed twice without echo at a terminal; one line from stdin when piped."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        fail("the two passwords differ; nothing was created")
    return first


@app.command()
@needs_database
def create(
    email: Annotated[str, typer.Argument(help="The staff member's email address (their login).")],
    role: Annotated[str, typer.Option(help=f"One of: {ROLES}.")],
    name: Annotated[str, typer.Option(help="The name shown in the console.")] = "",
) -> None:
    """Create an account; the password is prompted for (or read from stdin)."""
    try:
        parse_role(role)  # refuse a bad role before asking for a password
    except StaffError as exc:
        fail(str(exc))
    with sessions()() as session:
        if find_user(session, email) is not None:
            fail(f"a staff account for {email.strip()} already exists")
    password = _read_password()
    with sessions().begin() as session:
        try:
            user = create_user(
                session, email, role, password, cli_clock().now(), cli_actor(), name=name
            )
        except StaffError as exc:
            fail(str(exc))
        created = f"Created {user.role} account {user.email}."
    console().print(escape(created))


@app.command("list")
@needs_database
def list_users() -> None:
    """Every account with its role and whether it is disabled."""
    with sessions()() as session:
        users = session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    table = Table("email", "name", "role", "status", "created")
    for user in users:
        table.add_row(
            escape(user.email),
            escape(user.name),
            user.role,
            "disabled" if user.disabled else "active",
            f"{user.created_at:%Y-%m-%d}",
        )
    console().print(table if users else "No staff accounts yet: `nurture users create`.")
