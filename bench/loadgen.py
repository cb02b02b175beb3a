"""A lean HTTP/1.1 load generator on asyncio streams, for the overload benchmark.

A general client (httpx) spends a millisecond or more of CPU per request; on a two-core
machine that is the bottleneck, not the server under test. This one writes prebuilt
request bytes over keep-alive connections and reads only the status line, the headers
and a Content-Length body, so the server is what gets measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Body = Callable[[int], dict[str, object]]


@dataclass
class Answers:
    """Status codes and latencies (seconds) of what came back, plus what never did."""

    latencies: dict[int, list[float]] = field(default_factory=dict)
    failed: int = 0  # no answer: the connection was refused, dropped or timed out
    first_sent: float = 0.0
    last_answer: float = 0.0

    def add(self, status: int, seconds: float) -> None:
        self.latencies.setdefault(status, []).append(seconds)
        self.last_answer = time.perf_counter()


class Connections:
    """Keep-alive connections to one server, opened as needed up to `limit`."""

    def __init__(self, host: str, port: int, limit: int = 2000) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._free = asyncio.Semaphore(limit)

    async def request(self, raw: bytes, timeout: float) -> int:
        """Send `raw`; the response's status code (the connection is kept if it may be)."""
        async with self._free:
            reader, writer = self._idle.pop() if self._idle else await self._open()
            try:
                writer.write(raw)
                status, keep = await asyncio.wait_for(_read_response(reader), timeout)
            except BaseException:
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return status

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
    }
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    return status, headers.get("connection", "").lower() != "close"


def post_json(host: str, port: int, path: str, body: dict[str, object]) -> bytes:
    """The bytes of a keep-alive JSON POST."""
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _one(connections: Connections, raw: bytes, answers: Answers, timeout: float) -> None:
    started = time.perf_counter()
    try:
        status = await connections.request(raw, timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        answers.failed += 1
        return
    answers.add(status, time.perf_counter() - started)


async def open_loop(
    host: str, port: int, path: str, body: Body, rate: float, seconds: float, timeout: float = 60
) -> Answers:
    """Send `rate` requests a second for `seconds` on a fixed schedule, answered or not."""
    connections, answers = Connections(host, port), Answers()
    tasks = []
    start = answers.first_sent = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        raw = post_json(host, port, path, body(n))
        tasks.append(asyncio.create_task(_one(connections, raw, answers, timeout)))
    await asyncio.gather(*tasks)
    connections.close()
    return answers


async def closed_loop(
    host: str, port: int, path: str, body: Body, clients: int, seconds: float
) -> Answers:
    """`clients` clients each sending again as soon as they are answered, for `seconds`."""
    connections, answers = Connections(host, port), Answers()
    deadline = time.perf_counter() + seconds
    sent = 0
    answers.first_sent = time.perf_counter()

    async def client() -> None:
        nonlocal sent
        while time.perf_counter() < deadline:
            sent += 1
            await _one(connections, post_json(host, port, path, body(sent)), answers, 60)

    await asyncio.gather(*(client() for _ in range(clients)))
    connections.close()
    return answers
