"""A tiny HTTP server on 127.0.0.1 that answers with a chosen response and records requests.

Tests point the real provider SDKs at it to see what they send and how the channels
classify what comes back.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class StubResponse:
    """What the stub answers: status, body, headers, and an optional delay before it."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def json(
        cls, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> StubResponse:
        """A JSON response."""
        return cls(
            status=status,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """The body parsed as an urlencoded form."""
        return parse_qs(self.body.decode(), keep_blank_values=True)


def read_request(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    """The request a handler is serving, body included."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    return RecordedRequest(handler.command, handler.path, dict(handler.headers.items()), body)


def write_response(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    """Answer with `status`, `headers` and `body` (Content-Length set here)."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that timed out has gone away before the answer: expected in tests.
        pass


class StubServer:
    """Use as a context manager; `url` is its base URL, `requests` what it received."""

    def __init__(self, response: StubResponse | None = None) -> None:
        self.response = response or StubResponse()
        self.requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        # A short poll keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def respond_with(self, response: StubResponse) -> None:
        """Answer every following request with `response`."""
        self.response = response

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                stub.requests.append(read_request(self))
                response = stub.response
                if response.delay and stub._stopping.wait(response.delay):
                    return
                write_response(self, response.status, response.headers, response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
