"""`nurture db`: the database schema."""

from __future__ import annotations

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url

from nurture.cli.context import load_settings, needs_database
from nurture.cli.output import console
from nurture.migrate import migrate

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command()
@needs_database
def upgrade() -> None:
    """Apply every migration to DATABASE_URL (safe to run again)."""
    settings = load_settings()
    migrate(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    console().print(f"[green]Database is up to date:[/] {escape(shown)}")
