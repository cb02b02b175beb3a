"""Stoplight Prism serving the providers' official OpenAPI specs as validating mocks.

One Prism per spec, started once per session. Without Node.js or Prism the contract
tests skip, except under NURTURE_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.helpers.net import free_port, wait_for_port
from tests.support import need

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / "node_modules" / ".bin" / "prism"
SPEC_FILES = {"sendgrid": "tsg_mail_v3.json", "twilio": "twilio_api_v2010.json"}
# Prism parses the whole spec before it listens; Twilio's is 1.8 MB.
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class PrismMocks:
    """Base URLs of the running mocks."""

    sendgrid_url: str
    twilio_url: str


def specs_dir() -> Path:
    """Where the provider specs live: NURTURE_SPECS_DIR, else ../shared/specs."""
    configured = os.environ.get("NURTURE_SPECS_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "specs"


def _alive(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismMocks]:
    """Prism mocks for SendGrid mail send and Twilio's 2010 API, with --errors."""
    need("Node.js", shutil.which("node") is not None, "Prism runs on it")
    need("Prism", PRISM.exists(), f"run `npm ci` in {REPO}")
    specs = {name: specs_dir() / file for name, file in SPEC_FILES.items()}
    for spec in specs.values():
        need("A provider spec", spec.is_file(), f"{spec} (set NURTURE_SPECS_DIR)")

    logs = tmp_path_factory.mktemp("prism")
    running: dict[str, tuple[subprocess.Popen[bytes], int, Path]] = {}
    try:
        for name, spec in specs.items():
            port = free_port()
            log_path = logs / f"{name}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [str(PRISM), "mock", "--errors", "-p", str(port), "-h", "127.0.0.1", spec],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=REPO,
                )
            running[name] = (process, port, log_path)
        for name, (process, port, log_path) in running.items():
            if not wait_for_port(port, STARTUP_SECONDS, still_starting=partial(_alive, process)):
                output = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"Prism for {name} did not start listening:\n{output}")
        yield PrismMocks(
            sendgrid_url=f"http://127.0.0.1:{running['sendgrid'][1]}",
            twilio_url=f"http://127.0.0.1:{running['twilio'][1]}",
        )
    finally:
        for process, _, _ in running.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
