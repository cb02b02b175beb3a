"""Apply Alembic migrations from code (`nurture db upgrade`, tests, the demo).

The configuration is built here rather than read from alembic.ini, so an installed
package migrates from any directory; alembic.ini only serves the `alembic` command
in a checkout.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from nurture.resources import migrations_dir


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if url:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | None = None, connection: Connection | None = None) -> None:
    """Bring the database to the newest schema."""
    command.upgrade(alembic_config(url, connection), "head")


def migrate(database_url: str) -> None:
    """Apply every migration; a SQLite file's folder is created first."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    upgrade(database_url)
