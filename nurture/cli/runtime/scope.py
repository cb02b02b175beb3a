"""Run a block of code against different settings, the way a fresh process would see them.

Tasks and services read `get_settings()` and the process-wide engine; the demo needs
them pointed at its own folder, so it changes the environment they are built from
and resets the caches on the way in and out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from nurture.config import Settings, get_settings
from nurture.db import get_engine, get_sessionmaker
from workers.context import use_context


def reset_process_caches() -> None:
    """Forget the cached settings, engine, sessionmaker and worker context (closing the pool)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()
    use_context(None)  # in-process tasks build theirs from the settings then in force


@contextmanager
def settings_scope(overrides: Mapping[str, str]) -> Iterator[Settings]:
    """Settings with these environment variables set; the previous ones come back after."""
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    reset_process_caches()
    try:
        yield get_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_process_caches()
