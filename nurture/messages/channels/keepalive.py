"""POSTs to one provider origin over kept-alive connections, one per hand-off thread.

Built on the standard library's http.client because it lets delivery tell the two
failures that matter apart, and costs half of urllib3's CPU per request:

- `NotSent`: the request never left (no connection): safe to try again;
- `MaybeSent`: it may have reached the provider (timeout, reset after writing): the
  caller must not send it again.

Nothing here retries. libcurl, for one, silently re-sends a request whose reused
connection is reset, which could post an email twice; here a kept connection the
provider has already closed is noticed before anything is written to it, and one left
idle longer than `idle_limit` is replaced, so a reset mid-request stays rare and
honest (`MaybeSent`).
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit


class NotSent(Exception):  # a fact about the request, not an "error" kind
    """The request was not written to the provider; trying again cannot duplicate it."""


class MaybeSent(Exception):
    """The request may have been written; whether the provider accepted it is unknown."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # "read-timeout" or "connection-lost"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Message
    body: bytes


class _Kept(threading.local):
    connection: http.client.HTTPConnection | None = None
    last_used: float = 0.0


class KeepAlivePoster:
    """One kept-alive connection per calling thread to `base_url`; thread-safe."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        connect_timeout: float,
        read_timeout: float,
        idle_limit: float = 30.0,  # well under the 60 s or more providers keep idle sockets
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the provider URL must be http(s)://host[:port][/path]")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self.prefix = parts.path
        self._headers = {**headers, "Connection": "keep-alive"}
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._idle_limit = idle_limit
        self._kept = _Kept()
        self._all: list[http.client.HTTPConnection] = []  # for close(), across threads
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes) -> Reply:
        """POST `body` to `prefix + path`; the reply, or NotSent / MaybeSent."""
        connection = self._ready_connection()
        try:
            connection.request("POST", self.prefix + path, body=body, headers=self._headers)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError:
            self._discard()
            raise MaybeSent("read-timeout") from None
        except (OSError, http.client.HTTPException):
            self._discard()
            raise MaybeSent("connection-lost") from None
        if response.will_close:
            self._discard()
        else:
            self._kept.last_used = time.monotonic()
        return Reply(response.status, response.headers, data)

    def close(self) -> None:
        """Close every thread's connection (a thread mid-request gets MaybeSent)."""
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()

    def _ready_connection(self) -> http.client.HTTPConnection:
        """This thread's connection, known open and idle, or a new one: NotSent if none."""
        kept = self._kept
        if kept.connection is not None and not self._reusable(kept.connection):
            self._discard()
        if kept.connection is None:
            connection = self._new_connection()
            try:
                connection.connect()
            except (OSError, ssl.SSLError) as exc:
                connection.close()
                raise NotSent(type(exc).__name__) from None
            assert connection.sock is not None
            connection.sock.settimeout(self._read_timeout)
            kept.connection = connection
            with self._lock:
                self._all.append(connection)
        return kept.connection

    def _reusable(self, connection: http.client.HTTPConnection) -> bool:
        if connection.sock is None or time.monotonic() - self._kept.last_used > self._idle_limit:
            return False
        # Between requests a healthy connection has nothing to read: readable means the
        # provider closed it (or sent something unasked), so it must not carry a request.
        readable, _, _ = select.select([connection.sock], [], [], 0)
        return not readable

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._connect_timeout
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._connect_timeout)

    def _discard(self) -> None:
        connection, self._kept.connection = self._kept.connection, None
        if connection is not None:
            connection.close()
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
