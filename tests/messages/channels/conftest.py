"""Fixtures for the channel tests: a stub provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.stub_server import StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A stub provider answering 200 with an empty body until told otherwise."""
    with StubServer() as server:
        yield server
