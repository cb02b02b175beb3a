"""docker-compose.yml and .ci/run are checked without a Docker engine: their commands and
variables must be ones the product really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from nurture.cli.main import app
from nurture.config import PROJECT_ROOT, Settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
NURTURE_SERVICES = ["migrate", "web", "worker", "beat"]


def nurture_commands(service: dict[str, Any]) -> list[list[str]]:
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def resolved_environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's variables with ${VAR:-default} / ${VAR:?msg} filled as an operator would."""
    filled = {
        "NURTURE_SECRET_KEY": "a-real-secret-of-enough-length",
        "CLINIC_ADDRESS": "120 Main Street, Springfield, IL 62701",
        "CLINIC_NAME": "Riverside Physical Therapy",
        "EMAIL_FROM": "care@clinic.example",
        "SENDGRID_API_KEY": "SG.key",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+12175550100",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
        "PUBLIC_BASE_URL": "https://care.clinic.example",
    }

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return filled.get(name, "" if match.group(2) == ":?" else default)

    pattern = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")
    return {k: pattern.sub(value, str(v)) for k, v in service["environment"].items()}


def test_compose_runs_the_production_stack() -> None:
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(COMPOSE["services"])


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_every_compose_command_is_a_real_nurture_command(name: str) -> None:
    runner = CliRunner()
    for command in nurture_commands(COMPOSE["services"][name]):
        assert command[0] == "nurture"
        words = [w for w in command[1:] if not w.startswith("-")]
        subcommand = words[:2] if words[:1] in (["db"], ["campaigns"]) else words[:1]
        result = runner.invoke(app, [*subcommand, "--help"])
        assert result.exit_code == 0, (command, result.output)
        for option in (w.split("=")[0] for w in command[1:] if w.startswith("--")):
            assert option in result.output, (command, option)


@pytest.mark.parametrize("name", NURTURE_SERVICES)
def test_compose_environment_is_a_valid_production_configuration(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = resolved_environment(COMPOSE["services"][name])
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.celery_broker_url.startswith("redis://")
    known = {f.alias or n for n, f in Settings.model_fields.items()}
    assert {k.lower() for k in environment} <= {k.lower() for k in known}


def test_production_refuses_a_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_ENV", "production")
    monkeypatch.setenv("NURTURE_SECRET_KEY", "changethis")
    with pytest.raises(ValueError, match="NURTURE_SECRET_KEY"):
        Settings()


def test_ci_runs_the_readme_test_command_with_services_required() -> None:
    script = (PROJECT_ROOT / ".ci" / "run").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "NURTURE_REQUIRE_SERVICES=1" in script
    assert "make test" in script and "make test" in readme


def test_dockerfile_copies_what_the_services_need() -> None:
    dockerfile = (Path(PROJECT_ROOT) / "Dockerfile").read_text()
    for folder in ("nurture", "workers", "migrations", "templates"):
        assert f"COPY {folder}" in dockerfile


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
