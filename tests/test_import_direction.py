"""The layers import downwards only: the domain never reaches up into the web tier, the
CLI or the workers, and the core (settings, hours, channel) imports no domain at all.
Read from the source with `ast`, so an import inside a function counts too."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, fresh_python

PACKAGE = REPO / "nurture"
# The tiers that serve the domain (and `python -m nurture`); the rest is domain or core.
UPPER = ("nurture.web", "nurture.cli", "nurture.migrations", "nurture.__main__")
FRAMEWORKS = ("workers", "fastapi", "starlette", "celery", "typer", "rich", "uvicorn")
CORE = {
    "nurture.config": {"nurture.hours", "nurture.resources"},
    "nurture.hours": set(),
    "nurture.channel": set(),
    "nurture.languages": set(),
    "nurture.phones": set(),
    "nurture.resources": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def imports(path: Path) -> tuple[str, ...]:
    """Every module `path` imports, absolute, wherever in the file the import is."""
    return tuple(_imported(ast.parse(path.read_text(), filename=str(path))))


def _imported(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_domain_never_imports_the_web_tier_the_cli_or_the_workers() -> None:
    found = [
        f"{module_name(path)} imports {name}"
        for path in sources()
        if not under(module_name(path), UPPER)
        for name in imports(path)
        if under(name, UPPER) or under(name, FRAMEWORKS)
    ]
    assert found == []


def test_the_web_tier_never_imports_the_cli() -> None:
    found = [
        f"{module_name(path)} imports {name}"
        for path in sources()
        if under(module_name(path), ("nurture.web",))
        for name in imports(path)
        if under(name, ("nurture.cli", "workers"))
    ]
    assert found == []


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_imports_no_domain_package(module: str) -> None:
    path = PACKAGE / (module.removeprefix("nurture.").replace(".", "/") + ".py")
    inside = {name for name in imports(path) if under(name, ("nurture",))}
    # "from nurture.hours import X" also yields "nurture.hours.X": judge by module.
    modules = {name for name in inside if (REPO / (name.replace(".", "/") + ".py")).exists()}
    assert modules <= CORE[module], modules - CORE[module]


@pytest.mark.slow
def test_building_the_settings_or_a_campaign_spec_loads_no_database_layer() -> None:
    # The core, and the spec itself, are all a campaign file may load.
    allowed = [*sorted(CORE), "nurture.campaigns", "nurture.campaigns.spec"]
    allowed.append("nurture.campaigns.conditions")  # the meaning of its branches, pure
    probe = (
        "import sys\n"
        "from nurture.config import Settings\n"
        "Settings()\n"
        "import nurture.campaigns.spec\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'celery'))\n"
        "domain = sorted(m for m in sys.modules if m.startswith('nurture.')\n"
        f"    and m not in {allowed!r})\n"
        "print(loaded, domain)\n"
    )
    assert fresh_python(probe) == "[] []"
