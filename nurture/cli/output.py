"""How the CLI talks: rich consoles, error exits, and times in a lead's zone."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

STATUS_STYLE = {
    "sent": "green",
    "delivered": "green",
    "queued": "cyan",
    "sending": "cyan",
    "pending": "dim",
    "held": "yellow",
    "skipped": "yellow",
    "failed": "red",
    "unknown": "red",
}


def console() -> Console:
    """A console on stdout (built per command so redirected output is honoured)."""
    return Console(highlight=False)


def fail(message: str) -> NoReturn:
    """Print a user error in red on stderr and exit with status 1."""
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)
