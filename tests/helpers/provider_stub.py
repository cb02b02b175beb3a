"""A stand-in for SendGrid and Twilio that accepts what their official SDKs send.

End-to-end tests and the benchmark point the real channels at it
(SENDGRID_API_URL / TWILIO_API_URL). Every accepted hand-off is recorded the moment
the request arrives — before any delay, because that is when a real provider "has"
the message — in memory and, optionally, as one JSON line in a log file. A SendGrid
record keeps each attachment's file name, type and decoded content. Run it as
its own process (`python -m tests.helpers.provider_stub --port P --log FILE
--delay 0.2`) when a test kills workers: its log then outlives them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

SENDGRID_PATH = "/v3/mail/send"
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")


def read_log(path: Path) -> list[dict[str, Any]]:
    """The hand-offs a stub process logged to `path`, in arrival order."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _attachment(item: dict[str, Any]) -> dict[str, str]:
    """A mail send's attachment as recorded: file name, MIME type and decoded content."""
    return {
        "filename": item["filename"],
        "type": item.get("type", ""),
        # Text for readable assertions; a binary file's stray bytes are replaced.
        "content": base64.b64decode(item["content"], validate=True).decode(errors="replace"),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The benchmark sends many requests at once; the default backlog of 5 refuses some.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed mid-request (the crash test does that) is expected here.
        pass


@dataclass
class Faults:
    """How badly the stub behaves: a share of requests refused with 429/500 (the message is
    not taken), and a share taken but answered only after `hang_seconds` (a hang)."""

    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 0.0
    dice: random.Random = field(default_factory=lambda: random.Random(7))

    def draw(self) -> str:
        roll = self.dice.random()
        if roll < self.error_rate:
            return "refuse"
        return "hang" if roll < self.error_rate + self.hang_rate else "ok"


class ProviderStub:
    """Accepts SendGrid mail sends and Twilio message creates; records each one.

    Use as a context manager to serve from a thread; `url` is the base URL to
    configure, `records` the hand-offs received so far.
    """

    def __init__(self, *, port: int = 0, log_path: Path | None = None, delay: float = 0.0) -> None:
        self.delay = delay
        self.log_path = log_path
        self.faults = Faults()
        self.refused = 0  # answered 429/500 without taking the message
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        """How many hand-offs it accepted."""
        with self._lock:
            return len(self.records)

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (process mode)."""
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving; requests still waiting out their delay are dropped."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ProviderStub:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)
            if self.log_path is not None:
                # One flushed line per hand-off: a reader in another process sees every
                # accepted request even if this process is killed right after.
                with self.log_path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as the real APIs offer: the Twilio SDK reuses its connection.
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle plus the
            # client's delayed ACK add ~40 ms to every kept-alive answer.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                twilio = TWILIO_PATH.match(self.path)
                if self.path == "/__faults":  # a test turning faults on or off
                    settings = json.loads(body)
                    stub.faults = Faults(**settings, dice=stub.faults.dice)
                    self._reply(204, None)
                    return
                self.fate = stub.faults.draw() if (twilio or self.path == SENDGRID_PATH) else "ok"
                if self.fate == "refuse":
                    with stub._lock:
                        stub.refused += 1
                        code = 429 if stub.refused % 2 else 500
                    self._reply(code, {"errors": [{"message": "try again later"}]})
                    return
                if self.path == SENDGRID_PATH:
                    self._sendgrid(body)
                elif twilio:
                    self._twilio(twilio.group("sid"), body)
                else:
                    self._reply(404, {"errors": [{"message": "not found"}]})

            def do_GET(self) -> None:
                if self.path == "/__faults":  # how many requests were refused so far
                    self._reply(200, {"refused": stub.refused})
                    return
                self._reply(404, {"errors": [{"message": "not found"}]})

            def _sendgrid(self, body: bytes) -> None:
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    self._reply(401, {"errors": [{"message": "authorization required"}]})
                    return
                try:
                    mail = json.loads(body)
                    personalization = mail["personalizations"][0]
                    record = {
                        "provider": "sendgrid",
                        "message_ref": personalization.get("custom_args", {}).get("message_ref"),
                        "to": personalization["to"][0]["email"],
                        "subject": mail.get("subject") or personalization.get("subject"),
                        "from": (mail.get("from") or {}).get("email"),
                        "attachments": [
                            _attachment(item) for item in mail.get("attachments") or []
                        ],
                    }
                # binascii.Error (bad base64) is a ValueError, which SendGrid answers 400 too.
                except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                    self._reply(400, {"errors": [{"message": "malformed mail send body"}]})
                    return
                record["provider_id"] = secrets.token_urlsafe(16)
                self._accept(record)
                self._reply(202, None, {"X-Message-Id": record["provider_id"]})

            def _twilio(self, account_sid: str, body: bytes) -> None:
                if not self.headers.get("Authorization", "").startswith("Basic "):
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if not form.get("To") or not form.get("Body"):
                    self._reply(400, {"code": 21604, "message": "'To' and 'Body' are required"})
                    return
                sid = "SM" + secrets.token_hex(16)
                record = {
                    "provider": "twilio",
                    "message_ref": None,  # Twilio has no custom arguments
                    "to": form["To"],
                    "body": form["Body"],
                    "provider_id": sid,
                    # The number or Messaging Service it was sent from.
                    "sender": form.get("From") or form.get("MessagingServiceSid"),
                }
                self._accept(record)
                now = formatdate(usegmt=True)
                # The fields twilio-python's MessageInstance reads, shaped like Twilio's.
                self._reply(
                    201,
                    {
                        "sid": sid,
                        "account_sid": account_sid,
                        "api_version": "2010-04-01",
                        "body": form["Body"],
                        "date_created": now,
                        "date_updated": now,
                        "date_sent": None,
                        "direction": "outbound-api",
                        "error_code": None,
                        "error_message": None,
                        "from": form.get("From"),
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "num_media": "0",
                        "num_segments": "1",
                        "price": None,
                        "price_unit": "USD",
                        "status": "queued",
                        "subresource_uris": {},
                        "to": form["To"],
                        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
                    },
                )

            def _accept(self, record: dict[str, Any]) -> None:
                record["received_at"] = time.time()
                record["hung"] = self.fate == "hang"
                stub._record(record)
                wait = stub.faults.hang_seconds if self.fate == "hang" else stub.delay
                if wait:
                    stub._stopping.wait(wait)

            def _reply(
                self, status: int, payload: object, headers: dict[str, str] | None = None
            ) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if payload is not None:
                    self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the stub in this process until it is terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, required=True, help="JSON-lines file of hand-offs")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    stub = ProviderStub(port=args.port, log_path=args.log, delay=args.delay)
    print(f"provider stub listening on {stub.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stub.serve_forever()


if __name__ == "__main__":
    main()
