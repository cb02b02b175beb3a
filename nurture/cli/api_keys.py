"""`nurture api-keys`: keys for server-to-server lead capture (POST /api/leads)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nurture.cli.context import cli_actor, cli_clock, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.leads.api_keys import ApiKeyError, create_key, list_keys, revoke_key
from nurture.staff.service import record_audit

app = typer.Typer(help="API keys for the lead-capture API.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="What the key is for, e.g. zapier or website.")]


@app.command()
@needs_database
def create(name: Name) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    now = cli_clock().now()
    with sessions().begin() as session:
        try:
            key = create_key(session, name, now)
        except ApiKeyError as exc:
            fail(str(exc))
        record_audit(session, cli_actor(), "api_key.created", now, f"api-key:{name.lower()}")
    out = console()
    out.print(f"API key [bold]{escape(name.lower())}[/]: store it now, it is not shown again.")
    out.print(key, soft_wrap=True)
    out.print("Send it as the X-API-Key header of POST /api/leads.")


@app.command()
@needs_database
def revoke(name: Name) -> None:
    """Stop a key from working at once."""
    now = cli_clock().now()
    with sessions().begin() as session:
        try:
            revoke_key(session, name, now)
        except ApiKeyError as exc:
            fail(str(exc))
        record_audit(session, cli_actor(), "api_key.revoked", now, f"api-key:{name.lower()}")
    console().print(f"Revoked the API key {escape(name.lower())}.")


@app.command("list")
@needs_database
def list_command() -> None:
    """Every key: its name, first characters, and when it was made, last used and revoked."""
    with sessions()() as session:
        keys = list_keys(session)
    table = Table("name", "starts with", "created", "last used", "status")
    for key in keys:
        table.add_row(
            escape(key.name),
            f"{key.hint}…",
            f"{key.created_at:%Y-%m-%d}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            "revoked" if key.revoked_at else "active",
        )
    console().print(table if keys else "No API keys yet: `nurture api-keys create NAME`.")
