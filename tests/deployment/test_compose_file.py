"""docker-compose.yml, .env.example, the Dockerfile and .ci/run, checked without a Docker
engine: the compose file against the Compose Specification's schema, every variable the
settings read reaches every service, and every command is a real `nurture` command."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nurture.cli.main import app
from nurture.config import Settings
from tests.support import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
NURTURE_SERVICES = ["migrate", "web", "worker", "beat"]
LONG_RUNNING = ["postgres", "redis", "web", "worker", "beat"]
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def settings_variables() -> set[str]:
    """Every environment variable the settings object reads."""
    return {(field.alias or name).upper() for name, field in Settings.model_fields.items()}


def env_example() -> dict[str, str]:
    """The variables .env.example lists (set or shown commented out), with their values."""
    found = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2).split(" #")[0].strip()
    return found


def nurture_commands(service: dict[str, Any]) -> list[list[str]]:
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def test_the_compose_file_follows_the_compose_specification() -> None:
    # check-jsonschema carries the Compose Specification's own JSON schema.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_production_stack() -> None:
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(COMPOSE["services"])


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_every_compose_command_is_a_real_nurture_command(name: str) -> None:
    runner = CliRunner()
    commands = nurture_commands(COMPOSE["services"][name])
    healthcheck = COMPOSE["services"][name].get("healthcheck", {}).get("test", ["CMD"])[1:]
    for command in [*commands, *([healthcheck] if healthcheck else [])]:
        assert command[0] == "nurture"
        words = [w for w in command[1:] if not w.startswith("-")]
        subcommand = words[:2] if words[:1] in (["db"], ["campaigns"]) else words[:1]
        result = runner.invoke(app, [*subcommand, "--help"])
        assert result.exit_code == 0, (command, result.output)
        for option in (w.split("=")[0] for w in command[1:] if w.startswith("--")):
            assert option in result.output, (command, option)


def test_every_variable_the_settings_read_is_documented_in_the_env_example() -> None:
    documented = env_example()
    assert settings_variables() - set(documented) == set()
    # And nothing there is a variable Nurture would silently ignore.
    assert set(documented) - settings_variables() == {"POSTGRES_PASSWORD"}


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_every_nurture_service_reads_the_whole_env_file(name: str) -> None:
    service = COMPOSE["services"][name]
    assert service["env_file"] == ".env"
    # What compose sets itself may only be what .env cannot know: where the services are.
    assert set(service["environment"]) == {
        "NURTURE_ENV",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "NURTURE_DATA_DIR",
    }


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_every_nurture_service_writes_to_the_data_volume(name: str) -> None:
    service = COMPOSE["services"][name]
    data_dir = service["environment"]["NURTURE_DATA_DIR"]
    assert f"nurture-data:{data_dir}" in service["volumes"]
    assert "nurture-data" in COMPOSE["volumes"]


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_restarts_and_has_a_healthcheck(name: str) -> None:
    service = COMPOSE["services"][name]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_each_tier_probes_itself(name: str) -> None:
    probe = COMPOSE["services"][name]["healthcheck"]["test"]
    assert probe[1:5] == ["nurture", "doctor", "--probe", name]


def test_no_password_is_written_in_the_compose_file() -> None:
    postgres = COMPOSE["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    url = COMPOSE["services"]["web"]["environment"]["DATABASE_URL"]
    assert ":${POSTGRES_PASSWORD:?" in url


def resolved(service: dict[str, Any], dotenv: dict[str, str]) -> dict[str, str]:
    """What a container would see: .env, then compose's environment with ${…} filled."""
    pattern = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        if name not in dotenv and match.group(2) == ":?":
            raise AssertionError(f"compose would stop: {name} is not set in .env")
        return dotenv.get(name, default)

    variables = dict(dotenv)
    variables.update({k: pattern.sub(value, str(v)) for k, v in service["environment"].items()})
    return variables


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_a_filled_in_env_example_is_a_valid_production_configuration(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = {k: v for k, v in env_example().items() if v}
    dotenv.update(
        POSTGRES_PASSWORD="3f9a0c0d1e2b",
        NURTURE_SECRET_KEY="a-real-secret-of-enough-length",
        SENDGRID_API_KEY="SG.key",
        SENDGRID_WEBHOOK_PUBLIC_KEY="MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_FROM_NUMBER="+12175550100",
    )
    for key, value in resolved(COMPOSE["services"][name], dotenv).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://nurture:3f9a0c0d1e2b@postgres")
    assert settings.celery_broker_url.startswith("redis://")
    assert str(settings.data_dir) == "/var/lib/nurture"


def test_the_unfilled_env_example_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in env_example().items():
        if value:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("NURTURE_ENV", "production")
    with pytest.raises(ValueError) as refused:
        Settings()
    for variable in ("NURTURE_SECRET_KEY", "SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID"):
        assert variable in str(refused.value)


def test_production_refuses_a_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_ENV", "production")
    monkeypatch.setenv("NURTURE_SECRET_KEY", "changethis")
    with pytest.raises(ValueError, match="NURTURE_SECRET_KEY"):
        Settings()


def test_ci_runs_the_readme_test_command_with_services_required() -> None:
    script = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "NURTURE_REQUIRE_SERVICES=1" in script
    assert "make test" in script and "make test" in readme


def test_the_image_installs_the_wheel_and_runs_unprivileged_with_a_data_volume() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip wheel" in dockerfile and "pip install --no-cache-dir /wheels/*.whl" in dockerfile
    assert "pip install -e" not in dockerfile
    assert "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NURTURE_DATA_DIR=/var/lib/nurture" in (
        dockerfile
    )
    assert "chown nurture:nurture /var/lib/nurture" in dockerfile
    assert "VOLUME /var/lib/nurture" in dockerfile and "USER nurture" in dockerfile


def test_production_refuses_the_sample_clinic_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_ENV", "production")
    monkeypatch.setenv("NURTURE_SECRET_KEY", "a-real-secret-of-enough-length")
    with pytest.raises(ValueError) as error:
        Settings()
    for variable in ("CLINIC_ADDRESS", "CLINIC_NAME", "EMAIL_FROM"):
        assert variable in str(error.value)


def test_policy_settings_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_QUIET_HOURS", "late evening")
    with pytest.raises(ValueError, match="08:00-21:00"):
        Settings()
    monkeypatch.setenv("SMS_QUIET_HOURS", "08:00-21:00")
    monkeypatch.setenv("SMS_FREQUENCY_CAP", "lots")
    with pytest.raises(ValueError, match="1/24h"):
        Settings()


def test_production_logs_json_unless_asked_for_text(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings().logs_as_json
    assert Settings(LOG_FORMAT="json").logs_as_json  # type: ignore[call-arg]
    monkeypatch.setenv("NURTURE_ENV", "production")
    assert Settings.model_construct(environment="production").logs_as_json
    assert not Settings.model_construct(environment="production", log_format="text").logs_as_json
