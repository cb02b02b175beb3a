"""A forwarding HTTP proxy on 127.0.0.1 that records each exchange with the real server.

Contract tests put it between an SDK and a mock such as Prism, to read the response
headers the SDK does not hand back (Prism reports violations in `sl-violations`).
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from tests.helpers.stub_server import RecordedRequest, read_request, write_response

# Hop-by-hop headers belong to one connection and are not forwarded.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Exchange:
    """A request, and the status, headers and body the upstream server answered with."""

    request: RecordedRequest
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A response header, looked up case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class RecordingProxy:
    """Use as a context manager; `url` forwards to `upstream`, `exchanges` records each call."""

    def __init__(self, upstream: str, timeout: float = 30.0) -> None:
        parts = urlsplit(upstream)
        self._upstream_host = parts.hostname or "127.0.0.1"
        self._upstream_port = parts.port or 80
        self._timeout = timeout
        self.exchanges: list[Exchange] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _forward(self, request: RecordedRequest) -> Exchange:
        connection = http.client.HTTPConnection(
            self._upstream_host, self._upstream_port, timeout=self._timeout
        )
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(request.method, request.path, body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return Exchange(request, response.status, dict(response.getheaders()), body)
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                exchange = proxy._forward(read_request(self))
                proxy.exchanges.append(exchange)
                relayed = {
                    name: value
                    for name, value in exchange.headers.items()
                    if name.lower() not in _HOP_BY_HOP
                }
                write_response(self, exchange.status, relayed, exchange.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
