"""Is the database on the newest schema this install ships?"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from nurture.migrate import alembic_config


def schema_revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """The database's current revisions and the heads of the shipped migrations."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, heads
