"""`make bench` must keep running when the product's code moves: every benchmark module
imports (the naive baseline once lost a function it used, and only a benchmark run said
so)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
