"""Apply Alembic migrations from code (`nurture db upgrade`, tests, the demo).

The configuration is built here rather than read from alembic.ini, so an installed
package migrates from any directory; alembic.ini only serves the `alembic` command
in a checkout.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

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
