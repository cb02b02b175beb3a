"""`nurture doctor` names a webhook endpoint whose posts wait on a changed secret key."""

from __future__ import annotations

from nurture.clock import utcnow
from nurture.config import Settings
from nurture.db import get_sessionmaker
from nurture.webhooks_out.endpoints import ALL_EVENTS, add_endpoint
from tests.cli.conftest import Invoke

FORMER_SECRET_KEY = "the-key-this-clinic-used-until-last-week"


def add(url: str, app_secret: str) -> int:
    with get_sessionmaker().begin() as session:
        endpoint, _ = add_endpoint(session, url, ALL_EVENTS, utcnow(), app_secret=app_secret)
        return endpoint.id


def check_line(output: str) -> str:
    return next(line for line in output.splitlines() if "webhook secrets" in line)


def test_doctor_names_the_endpoint_a_changed_secret_key_can_no_longer_sign_for(
    nurture: Invoke, synced: None, settings: Settings
) -> None:
    add("https://crm.example.test/current", settings.secret_key)
    assert "ok" in check_line(nurture("doctor").output)

    stranded = add("https://crm.example.test/older", FORMER_SECRET_KEY)
    result = nurture("doctor")

    assert result.exit_code == 1
    line = check_line(result.output)
    assert "problem" in line
    assert f"endpoint {stranded}: sealed under another NURTURE_SECRET_KEY" in line
    assert "webhook secrets" in result.output.splitlines()[-1]  # in the "Not ready" list
