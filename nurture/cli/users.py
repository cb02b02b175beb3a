"""`nurture users`: staff accounts for the admin console, managed from the server.

The commands here are how a clinic recovers access: a sole admin who forgot their
password, or disabled by mistake, is put right by whoever can run `nurture` on the server.
"""

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
from nurture.staff.service import (
    StaffError,
    create_user,
    find_user,
    parse_role,
    reset_password,
    set_disabled,
)

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


Email = Annotated[str, typer.Argument(help="The account's email address (its login).")]


def _existing(email: str) -> int:
    with sessions()() as session:
        user = find_user(session, email)
    if user is None:
        fail(f"there is no staff account for {email.strip()} (see `nurture users list`)")
    return user.id


@app.command("set-password")
@needs_database
def set_password(email: Email) -> None:
    """Set a new password (prompted, or read from stdin); the account is signed out everywhere."""
    user_id = _existing(email)
    password = _read_password()
    with sessions().begin() as session:
        try:
            user = reset_password(session, user_id, password, cli_clock().now(), cli_actor())
        except StaffError as exc:
            fail(f"{exc}; the password was not changed")
        done = f"New password set for {user.email}; its open sessions are signed out."
    console().print(escape(done))


def _set_disabled(email: str, disabled: bool) -> None:
    user_id = _existing(email)
    with sessions().begin() as session:
        user = set_disabled(session, user_id, disabled, cli_clock().now(), cli_actor())
        done = f"{user.email} is {'disabled' if user.disabled else 'active'}."
    console().print(escape(done))


@app.command()
@needs_database
def disable(email: Email) -> None:
    """Stop an account from signing in (its open sessions end at their next request)."""
    _set_disabled(email, True)


@app.command()
@needs_database
def enable(email: Email) -> None:
    """Let a disabled account sign in again."""
    _set_disabled(email, False)


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
