"""Helpers for the web tests (the `app` and `client` fixtures live in tests/conftest.py)."""

from __future__ import annotations

from urllib.parse import urlsplit


def path_of(url: str) -> str:
    """The path of a public URL, for the TestClient (which serves any host)."""
    return urlsplit(url).path
