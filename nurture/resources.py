"""Where the files that ship with Nurture live, in a wheel and in a source checkout.

A wheel carries the top-level `templates/` folder inside the package (pyproject's
force-include puts it at `nurture/templates`); a checkout, editable install included,
reads the folder beside the package. The Alembic migrations are a package folder
(`nurture/migrations`) in both.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE = Path(str(files("nurture")))


def bundled_templates() -> Path:
    """The templates that ship with this install: pages, emails, the seeded campaign."""
    packaged = PACKAGE / "templates"
    return packaged if packaged.is_dir() else PACKAGE.parent / "templates"


def migrations_dir() -> Path:
    """The Alembic scripts (env.py and versions/)."""
    return PACKAGE / "migrations"
