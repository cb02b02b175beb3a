"""The ceiling: how fast this machine can POST to the provider stub with nothing else to do.

`ceiling()` starts as many processes as delivery has workers, each with as many threads
as a worker's hand-off pool, every thread posting the same SendGrid request body back to
back over its kept-alive connection (the transport delivery uses). Delivery can never go
faster than this on the same machine, so end-to-end as a share of it says how much of the
machine the product's own work takes.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

from nurture.messages.channels.keepalive import KeepAlivePoster
from nurture.messages.channels.sendgrid import MAIL_SEND_PATH


def _post_loop(url: str, threads: int, body: bytes, seconds: float, counts: list[int]) -> None:
    poster = KeepAlivePoster(url, {"Content-Type": "application/json"}, 5.0, 30.0)
    done = [0] * threads
    start = time.perf_counter()

    def loop(index: int) -> None:
        while time.perf_counter() - start < seconds:
            reply = poster.post(MAIL_SEND_PATH, body)
            if reply.status != 202:
                raise RuntimeError(f"the stub answered {reply.status}")
            done[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    poster.close()
    counts.append(sum(done))


def _process(url: str, threads: int, body: bytes, seconds: float, queue: object) -> None:
    counts: list[int] = []
    _post_loop(url, threads, body, seconds, counts)
    queue.put(counts[0])  # type: ignore[attr-defined]


def ceiling(url: str, processes: int, threads: int, body: bytes, seconds: float = 5.0) -> float:
    """Requests per second that `processes` x `threads` posters get through together."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    children = [
        context.Process(target=_process, args=(url, threads, body, seconds, queue))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    total: int = sum(queue.get(timeout=seconds + 60) for _ in children)
    for child in children:
        child.join()
    # Each loop timed itself from its own first request, so start-up is not counted.
    return total / seconds
