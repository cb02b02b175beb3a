"""The README's production install, line by line, from a wheel in a fresh virtual
environment, run from a folder that is not the checkout, against PostgreSQL and Redis.

The lines are read from the README's "Without Docker" block, so the README and this
test cannot drift apart: a line this test does not know how to run fails it. The only
liberties taken: HOME is a temporary folder (so `~` is too), the `.env` is filled in
where the README says to fill it in, and the web port is a free one.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from nurture.db import make_engine
from nurture.messages.models import Message
from tests.e2e.stack import TWILIO_TEST_SID, ProcessGroup, wait_until
from tests.helpers.net import free_port
from tests.helpers.provider_stub import ProviderStub
from tests.support import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

LONG_RUNNING = re.compile(r"nurture (serve|worker|beat)\b")
PASSWORD = "a long enough admin passphrase"


def readme_lines() -> list[str]:
    """The commands of the README's "Without Docker" block, comments dropped."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Without Docker") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("\n```", start)]
    lines = (line.split("  #")[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def checkout_copy(target: Path) -> Path:
    """The working tree's tracked and new files, as a fresh clone of it would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def public_key_b64() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return base64.b64encode(
        key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


def fill_in(dotenv: Path, values: dict[str, str]) -> None:
    """What an administrator does to .env: replace the lines for these keys, add the rest."""
    kept = [
        line
        for line in dotenv.read_text().splitlines()
        if line.split("=", 1)[0].lstrip("# ").strip() not in values
    ]
    dotenv.write_text("\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n")


@pytest.fixture
def redis_db() -> int:
    return 12


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """A bare environment: no virtualenv, no PYTHONPATH, nothing of Nurture's set."""
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    # `python3` is this interpreter's base Python, as a fresh machine would have it.
    (home / "bin" / "python3").symlink_to(sys._base_executable)
    return {
        "HOME": str(home),
        "PATH": f"{home / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        # The downloads of the real home's pip cache: the same packages, fetched once.
        "PIP_CACHE_DIR": str(Path("~/.cache/pip").expanduser()),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def test_the_readme_install_runs_from_a_wheel_in_a_fresh_virtualenv(
    tmp_path: Path, shell_env: dict[str, str], empty_postgres_url: str, broker: str
) -> None:
    lines = readme_lines()
    assert len(lines) == 13, lines
    port = free_port()
    cwd = checkout_copy(tmp_path / "clone")
    home = Path(shell_env["HOME"])
    processes = ProcessGroup(tmp_path / "logs")
    with ProviderStub() as stub:
        settings = {
            "NURTURE_ENV": "production",
            "DATABASE_URL": empty_postgres_url,
            "CELERY_BROKER_URL": broker,
            "NURTURE_DATA_DIR": "var",
            "NURTURE_SECRET_KEY": "a-real-secret-of-enough-length-for-tests",
            "SENDGRID_API_KEY": "SG.test",
            "SENDGRID_API_URL": stub.url,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_b64(),
            "TWILIO_ACCOUNT_SID": TWILIO_TEST_SID,
            "TWILIO_AUTH_TOKEN": "test",
            "TWILIO_FROM_NUMBER": "+12175550100",
            "TWILIO_API_URL": stub.url,
            "NURTURE_DISPATCH_INTERVAL": "0.5",
        }
        try:
            for line in lines:
                cwd = _run_line(line, cwd, home, port, shell_env, settings, processes)
            _capture_and_deliver(port, empty_postgres_url, stub)
        finally:
            processes.stop_all()
    started = {p.name for p in processes.processes}
    assert started == {"serve", "worker", "beat"}, started


def _run_line(
    line: str,
    cwd: Path,
    home: Path,
    port: int,
    env: dict[str, str],
    settings: dict[str, str],
    processes: ProcessGroup,
) -> Path:
    """Run one README line the way a person at a shell would; the next line's folder."""
    if line.startswith("cd "):
        return Path(line[3:].strip().replace("~", str(home)))
    if " db upgrade" in line:
        # "Before `nurture db upgrade`, fill in ~/nurture/.env".
        fill_in(cwd / ".env", settings)
    line = line.replace("--port 8000", f"--port {port}")
    long_running = LONG_RUNNING.search(line)
    if long_running:
        process = processes.start(long_running.group(1), ["bash", "-c", f"exec {line}"], env, cwd)
        if long_running.group(1) == "serve":
            process.wait_for_port(port, timeout=60)
        return cwd
    if line.endswith("nurture doctor"):
        # Workers and beat report in within seconds of starting: ask until they have.
        result = wait_until(lambda: _ok(_shell(line, cwd, env)), 90, "`nurture doctor` to pass")
    else:
        stdin = PASSWORD + "\n" if " users create " in line else None
        result = _shell(line, cwd, env, stdin)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    _check_output(line, result.stdout, home)
    return cwd


def _shell(
    line: str, cwd: Path, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str] | None:
    return result if result.returncode == 0 else None


def _check_output(line: str, output: str, home: Path) -> None:
    if line.endswith("pip install dist/nurture-*.whl"):
        # The package is the installed one, not the checkout it was built from.
        where = subprocess.run(
            [
                str(home / "nurture-venv/bin/python"),
                "-c",
                "import nurture; print(nurture.__file__)",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=home,
        ).stdout
        assert "/site-packages/nurture/" in where, where
    elif line.endswith("nurture --version"):
        assert re.fullmatch(r"nurture \d+\.\d+\.\d+\n", output), output
    elif line.endswith("campaigns sync"):
        assert "hamstring-sciatica: created" in output, output
    elif line.endswith("nurture doctor"):
        assert "Ready: messages due now will go out." in output, output
        assert "worker ping" in output and "dispatcher" in output


def _capture_and_deliver(port: int, database_url: str, stub: ProviderStub) -> None:
    web = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{web}/healthz", timeout=10).status_code == 200
    assert httpx.get(f"{web}/readyz", timeout=10).json()["status"] == "ready"
    response = httpx.post(
        f"{web}/api/leads",
        json={
            "article": "tight-hamstrings-sciatic-nerve",
            "first_name": "Priya",
            "email": "priya@example.com",
            "consent": {"email": True},
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    wait_until(lambda: stub.count >= 1, 60, "the welcome email to reach SendGrid's stand-in")
    assert stub.records[0]["to"] == "priya@example.com"
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            statuses = connection.execute(select(Message.status)).scalars().all()
    finally:
        engine.dispose()
    assert statuses == ["sent"]
    time.sleep(1)  # a second pass must not send it again
    assert stub.count == 1
