"""A provider stand-in that costs as little CPU as possible, for the delivery benchmark.

    python -m bench.fast_stub --port P

An asyncio server speaking just enough HTTP/1.1 (keep-alive, Content-Length bodies):
SendGrid's mail send is answered 202 with an X-Message-Id, Twilio's message create 201
with the fields the SDK reads. It parses nothing it does not need, so what the
benchmark measures is Nurture, not the stub. `GET /__stats` tells how many hand-offs
arrived, in total and per sender and wall-clock second; `POST /__reset` starts over.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
from collections import Counter, defaultdict
from urllib.parse import parse_qs

TWILIO = re.compile(rb"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
_ids = itertools.count(1)


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_provider: Counter[str] = Counter()
        self.by_second: defaultdict[str, Counter[int]] = defaultdict(Counter)

    def add(self, provider: str, sender: str) -> None:
        self.total += 1
        self.by_provider[provider] += 1
        self.by_second[sender][int(time.time())] += 1

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "total": self.total,
                "by_provider": self.by_provider,
                "per_second": {s: dict(c) for s, c in self.by_second.items()},
            }
        ).encode()


STATS = Stats()


def _response(status: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode() + body


def _twilio(account: bytes, body: bytes) -> bytes:
    form = parse_qs(body.decode())
    sender = (form.get("MessagingServiceSid") or form.get("From") or ["?"])[0]
    STATS.add("twilio", f"twilio:{sender}")
    sid = f"SM{next(_ids):032x}"
    payload = json.dumps(
        {
            "sid": sid,
            "account_sid": account.decode(),
            "status": "queued",
            "to": form.get("To", [""])[0],
            "body": "",
            "num_segments": "1",
        }
    ).encode()
    return _response("201 Created", payload)


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, rest = head.partition(b"\r\n")
            method, path, _ = request_line.split(b" ", 2)
            length = 0
            for line in rest.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            twilio = TWILIO.match(path)
            if path == b"/v3/mail/send":
                STATS.add("sendgrid", "sendgrid")
                answer = _response("202 Accepted", b"", f"X-Message-Id: sg{next(_ids)}\r\n")
            elif twilio:
                answer = _twilio(twilio.group(1), body)
            elif path == b"/__stats":
                answer = _response("200 OK", STATS.to_json())
            elif path == b"/__reset" and method == b"POST":
                STATS.reset()
                answer = _response("204 No Content", b"")
            else:
                answer = _response("404 Not Found", b"{}")
            writer.write(answer)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
