"""Ports on the loopback interface."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, *, still_starting: Callable[[], bool] = lambda: True
) -> bool:
    """Whether 127.0.0.1:`port` accepts connections within `timeout` seconds.

    `still_starting` lets the caller give up early, e.g. when the server process died.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and still_starting():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False
