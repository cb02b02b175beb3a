"""The benchmark's real Celery worker: a prefork process group of its own, logged to a file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from tests.support import REPO


class WorkerProcess:
    """`celery worker` with the outbox tasks and bench.naive, at a given concurrency."""

    def __init__(self, env: Mapping[str, str], concurrency: int, log_path: Path) -> None:
        self.log_path = log_path
        self.concurrency = concurrency
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-I",
            "bench.naive",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "-Q",
            "celery",
            # Not INFO: a log line per task would tax the one-task-per-message design more.
            "--loglevel",
            "WARNING",
            "-n",
            f"bench-{uuid.uuid4().hex[:8]}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                argv,
                env={**env, "PYTHONPATH": str(REPO)},
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopping it reaches the pool too
            )

    def log(self) -> str:
        """What the worker logged so far."""
        return self.log_path.read_text(errors="replace")

    def trouble(self) -> str | None:
        """Why the run cannot go on: the worker exited, or a task raised."""
        if self.popen.poll() is not None:
            return f"the worker exited with {self.popen.returncode}"
        if "raised unexpected" in self.log():
            return "a task raised an exception"
        return None

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL for whatever is left of the group."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:
                # The main process is gone; make sure no pool child outlived it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                return
