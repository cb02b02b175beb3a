"""A PostgreSQL and a Redis of the fault suite's own, on free ports, that it may stop and
start at will: the shared servers of the machine are never touched.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
system user and every server command runs as that user (runuser).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.net import free_port, wait_for_port


def postgres_bin() -> Path | None:
    """The PostgreSQL server programs installed on this machine, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class OwnPostgres:
    """A throw-away cluster in `folder`, listening on 127.0.0.1:`port` (trust auth)."""

    folder: Path
    port: int
    bin: Path

    @classmethod
    def create(cls, bin_dir: Path) -> OwnPostgres:
        """A new cluster in a folder of its own under the system's temp folder (the server
        user must reach it, and a pytest tmp_path is private to root)."""
        folder = Path(tempfile.mkdtemp(prefix="nurture-faults-pg-"))
        folder.chmod(0o755)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(folder, user.pw_uid, user.pw_gid)
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(folder / "data"),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                ]
            ),
            check=True,
            capture_output=True,
        )
        return cls(folder, free_port(), bin_dir)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-l",
                    str(self.folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        assert wait_for_port(self.port, 30), (self.folder / "server.log").read_text()

    def remove(self) -> None:
        """Stop and delete the cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        """Stop at once, dropping every client connection (mode fast)."""
        subprocess.run(
            _as_server_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ]
            ),
            check=False,
            capture_output=True,
        )


@dataclass
class OwnRedis:
    """A Redis server without persistence on 127.0.0.1:`port`."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, folder: Path) -> OwnRedis:
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, free_port())

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        assert wait_for_port(self.port, 10), "redis did not start"

    def stop(self) -> None:
        """Kill it (SIGKILL): queued tasks are gone, as after a crash without persistence."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and wait_for_port(self.port, 0.1):
            time.sleep(0.1)
