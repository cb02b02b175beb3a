"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nurture.db import make_engine
from nurture.models import Base
from tests.support import Database


def test_migrated_schema_matches_the_models(db: Database) -> None:
    engine = make_engine(db.url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
