"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from nurture.db import make_engine
from nurture.migrate import alembic_config
from nurture.models import Base
from tests.support import Database


def test_migrated_schema_matches_the_models(db: Database) -> None:
    engine = make_engine(db.url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_migrations_have_one_head_so_upgrade_knows_where_to_stop() -> None:
    # Parallel branches must be joined by a merge revision, or `nurture db upgrade`
    # (alembic "head") refuses to run.
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads
