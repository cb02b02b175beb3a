"""`nurture users create|list` against the settings' own SQLite database."""

from __future__ import annotations

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli.main import app
from nurture.db import get_sessionmaker
from nurture.staff.models import AuditEntry, StaffUser
from nurture.staff.passwords import verify_password

PASSWORD = "a long enough secret phrase"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def migrated(migrated_database: None) -> None:
    """Every test here starts from a database at the newest schema."""


def test_create_reads_the_password_from_stdin_and_the_account_can_sign_in() -> None:
    result = run(
        "users", "create", "Desk@Riverside-PT.example", "--role", "frontdesk", stdin=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created frontdesk account desk@riverside-pt.example." in result.output
    with get_sessionmaker()() as session:
        user = session.scalars(select(StaffUser)).one()
        assert (user.email, user.role) == ("desk@riverside-pt.example", "frontdesk")
        assert verify_password(user.password_hash, PASSWORD)
        entry = session.scalars(select(AuditEntry)).one()
        assert entry.action == "user.created" and entry.actor.startswith("cli:")
    listing = run("users", "list")
    assert "desk@riverside-pt.example" in listing.output and "frontdesk" in listing.output


def test_create_refuses_an_email_that_already_has_an_account() -> None:
    assert (
        run(
            "users", "create", "desk@riverside-pt.example", "--role", "frontdesk", stdin=PASSWORD
        ).exit_code
        == 0
    )
    result = run("users", "create", "DESK@riverside-pt.example", "--role", "admin", stdin=PASSWORD)
    assert result.exit_code == 1
    assert "already exists" in result.output and "Traceback" not in result.output
    with get_sessionmaker()() as session:
        assert session.scalars(select(StaffUser.role)).all() == ["frontdesk"]


def test_create_refuses_an_unknown_role_naming_the_roles_there_are() -> None:
    result = run(
        "users", "create", "desk@riverside-pt.example", "--role", "janitor", stdin=PASSWORD
    )
    assert result.exit_code == 1
    assert "unknown role 'janitor': choose one of admin, marketing, frontdesk" in " ".join(
        result.output.split()
    )
    with get_sessionmaker()() as session:
        assert session.scalars(select(StaffUser)).first() is None


def test_create_refuses_a_short_password() -> None:
    result = run(
        "users", "create", "desk@riverside-pt.example", "--role", "frontdesk", stdin="short\n"
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_list_says_when_there_are_no_accounts() -> None:
    result = run("users", "list")
    assert result.exit_code == 0 and "No staff accounts yet" in result.output


def _create(email: str, role: str = "admin") -> None:
    assert run("users", "create", email, "--role", role, stdin=PASSWORD + "\n").exit_code == 0


def _account(email: str) -> StaffUser:
    with get_sessionmaker()() as session:
        return session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def test_a_sole_admin_who_forgot_the_password_gets_a_new_one_from_the_server() -> None:
    _create("owner@riverside-pt.example")
    before = _account("owner@riverside-pt.example")
    result = run(
        "users", "set-password", "Owner@Riverside-PT.example", stdin="a brand new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert "New password set for owner@riverside-pt.example" in result.output
    after = _account("owner@riverside-pt.example")
    assert verify_password(after.password_hash, "a brand new passphrase")
    assert not verify_password(after.password_hash, PASSWORD)
    assert after.session_epoch == before.session_epoch + 1  # old cookies stop working
    with get_sessionmaker()() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-1] == "user.password_reset"


def test_set_password_refuses_a_weak_password_and_keeps_the_old_one() -> None:
    _create("owner@riverside-pt.example")
    result = run("users", "set-password", "owner@riverside-pt.example", stdin="short\n")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output and "was not changed" in result.output
    assert verify_password(_account("owner@riverside-pt.example").password_hash, PASSWORD)


def test_set_password_for_an_unknown_account_says_so_without_asking_for_a_password() -> None:
    result = run("users", "set-password", "nobody@riverside-pt.example", stdin=PASSWORD)
    assert result.exit_code == 1
    assert "no staff account for nobody@riverside-pt.example" in result.output


def test_an_account_disabled_by_mistake_is_enabled_again_from_the_server() -> None:
    _create("desk@riverside-pt.example", "frontdesk")
    disabled = run("users", "disable", "desk@riverside-pt.example")
    assert disabled.exit_code == 0 and "is disabled" in disabled.output
    assert _account("desk@riverside-pt.example").disabled
    assert "disabled" in run("users", "list").output
    enabled = run("users", "enable", "desk@riverside-pt.example")
    assert enabled.exit_code == 0 and "is active" in enabled.output
    assert not _account("desk@riverside-pt.example").disabled
    with get_sessionmaker()() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["user.disabled", "user.enabled"]
