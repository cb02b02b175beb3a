"""A real HTTP endpoint on 127.0.0.1, in a thread: it records every post and answers with
the status codes a test scripts for each lead (then `default`), like a CRM that is down,
then up again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Receiver:
    url: str
    # By lead email: the codes answered to that lead's posts in turn, then `default`.
    answers: dict[str, list[int]] = field(default_factory=dict)
    default: int = 200
    received: list[Received] = field(default_factory=list)

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [item.payload for item in self.received]

    def seen(self, email: str) -> list[str]:
        """The event types posted about the lead with `email`, in arrival order."""
        return [p["type"] for p in self.payloads if p["lead"]["email"] == email]

    def answer(self, body: bytes) -> int:
        email = json.loads(body)["lead"]["email"]
        codes = self.answers.get(email) or []
        return codes.pop(0) if codes else self.default


@contextmanager
def receiver(path: str = "/hooks") -> Iterator[Receiver]:
    """A running receiver whose URL is http://127.0.0.1:<port><path>."""
    lock = threading.Lock()
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                found = state[0]
                found.received.append(Received(self.path, dict(self.headers.items()), body))
                code = found.answer(body)
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest treats stray output as noise

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}{path}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
