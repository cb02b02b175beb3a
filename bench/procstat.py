"""CPU time and resident memory of processes, read from /proc (Linux), for the benchmarks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its last ")".
    return [text[text.index("(") + 1 : text.rindex(")")], *text.rsplit(")", 1)[1].split()]


def pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def group(pgid: int) -> list[int]:
    """The processes of a process group (a worker started in a session of its own)."""
    found = []
    for pid in pids():
        fields = _stat(pid)
        if fields is not None and int(fields[3]) == pgid:
            found.append(pid)
    return found


def named(name: str) -> list[int]:
    """Processes whose command is `name` (e.g. every PostgreSQL backend)."""
    return [pid for pid in pids() if (fields := _stat(pid)) is not None and fields[0] == name]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = _stat(pid)
    return (int(fields[12]) + int(fields[13])) / _TICKS if fields is not None else 0.0


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MiB."""
    fields = _stat(pid)
    return int(fields[22]) * _PAGE / 2**20 if fields is not None else 0.0


class CpuMeter:
    """CPU used since it was made by the processes `find()` lists (re-listed at the end, so
    one started meanwhile counts in full; one that exited meanwhile is not counted)."""

    def __init__(self, find: Callable[[], Iterable[int]]) -> None:
        self.find = find
        self.started = {pid: cpu_seconds(pid) for pid in find()}

    def used(self) -> float:
        return sum(cpu_seconds(pid) - self.started.get(pid, 0.0) for pid in self.find())
