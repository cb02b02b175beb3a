"""Staff accounts: hashed passwords, sign-in checks, and an audit log nobody can rewrite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from nurture.clock import ManualClock
from nurture.staff.models import AuditEntry, AuditLogIsAppendOnly, StaffUser
from nurture.staff.passwords import verify_password
from nurture.staff.service import (
    MAX_FAILURES,
    StaffError,
    TooManyAttempts,
    authenticate,
    create_user,
)
from tests.staff.accounts import PASSWORD, SETUP, staff_user
from tests.support import Database, fresh_python


def _entries(db: Database) -> list[AuditEntry]:
    with db.factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_password_is_stored_as_an_argon2id_hash_that_verifies(
    db: Database, clock: ManualClock
) -> None:
    user_id = staff_user(db, clock)
    with db.factory() as session:
        stored = session.get(StaffUser, user_id)
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash
        assert verify_password(stored.password_hash, PASSWORD)
        assert not verify_password(stored.password_hash, PASSWORD + "!")


@pytest.mark.slow
def test_production_hashes_use_argon2_cffis_recommended_parameters() -> None:
    # The suite signs in with the cheapest parameters (tests/conftest.py); a process of
    # the product's own hashes with the RFC 9106 low-memory profile: 64 MiB, 3 passes.
    probe = "from nurture.staff.passwords import hash_password; print(hash_password('x' * 12))"
    assert fresh_python(probe).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_right_password_signs_in_and_wrong_one_is_refused(db: Database, clock: ManualClock) -> None:
    staff_user(db, clock, email="Mara@Riverside-PT.example")
    with db.factory.begin() as session:
        assert (
            authenticate(
                session, "mara@riverside-pt.example", "wrong password!", "1.2.3.4", clock.now()
            )
            is None
        )
        user = authenticate(
            session, " MARA@riverside-pt.example ", PASSWORD, "1.2.3.4", clock.now()
        )
        assert user is not None and user.email == "mara@riverside-pt.example"
    actions = [(e.action, e.target, e.actor, e.ip) for e in _entries(db)]
    assert actions[-2:] == [
        ("login.failed", "mara@riverside-pt.example", "anonymous", "1.2.3.4"),
        ("login", "mara@riverside-pt.example", "mara@riverside-pt.example", "1.2.3.4"),
    ]


def test_disabled_account_cannot_sign_in_even_with_the_right_password(
    db: Database, clock: ManualClock
) -> None:
    user_id = staff_user(db, clock)
    with db.factory.begin() as session:
        user = session.get(StaffUser, user_id)
        assert user is not None
        user.disabled = True
    with db.factory.begin() as session:
        assert (
            authenticate(session, "mara@riverside-pt.example", PASSWORD, None, clock.now()) is None
        )


def test_sixth_attempt_within_fifteen_minutes_is_locked_out_then_allowed_later(
    db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    for _ in range(MAX_FAILURES):
        with db.factory.begin() as session:
            authenticate(
                session, "mara@riverside-pt.example", "guess guess guess", "9.9.9.9", clock.now()
            )
    with db.factory.begin() as session, pytest.raises(TooManyAttempts):
        authenticate(session, "mara@riverside-pt.example", PASSWORD, "9.9.9.9", clock.now())
    with db.factory.begin() as session:  # another IP is not locked out by this one
        assert authenticate(session, "mara@riverside-pt.example", PASSWORD, "5.5.5.5", clock.now())
    clock.advance(timedelta(minutes=16))
    with db.factory.begin() as session:
        assert authenticate(session, "mara@riverside-pt.example", PASSWORD, "9.9.9.9", clock.now())


def test_account_creation_is_audited_with_who_and_when(db: Database, clock: ManualClock) -> None:
    staff_user(db, clock, email="desk@riverside-pt.example", role="frontdesk")
    [entry] = _entries(db)
    assert (entry.actor, entry.action, entry.target, entry.at) == (
        SETUP.name,
        "user.created",
        "desk@riverside-pt.example",
        clock.now(),
    )
    assert entry.detail == {"role": "frontdesk"}


@pytest.mark.parametrize(
    ("email", "role", "password", "problem"),
    [
        ("mara@riverside-pt.example", "marketing", PASSWORD, "already exists"),
        ("new@riverside-pt.example", "janitor", PASSWORD, "unknown role 'janitor'"),
        ("not-an-address", "admin", PASSWORD, "is not an email address"),
        ("new@riverside-pt.example", "admin", "short", "at least 12 characters"),
    ],
)
def test_account_that_cannot_exist_is_refused_with_the_reason(
    db: Database, clock: ManualClock, email: str, role: str, password: str, problem: str
) -> None:
    staff_user(db, clock)
    with db.factory.begin() as session, pytest.raises(StaffError, match=problem):
        create_user(session, email, role, password, clock.now(), SETUP)
    with db.factory() as session:
        assert (
            session.scalar(
                select(StaffUser.email).where(StaffUser.email != "mara@riverside-pt.example")
            )
            is None
        )


def test_audit_entries_cannot_be_changed_through_the_orm(db: Database, clock: ManualClock) -> None:
    staff_user(db, clock)
    with db.factory() as session:
        entry = session.scalars(select(AuditEntry)).one()
        entry.action = "nothing happened"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(AuditEntry)).one())
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()


@pytest.mark.parametrize(
    "statement",
    [update(AuditEntry).values(action="nothing happened"), delete(AuditEntry)],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_rewrite_the_audit_log(
    db: Database, clock: ManualClock, statement: object
) -> None:
    staff_user(db, clock)
    with db.factory() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)  # type: ignore[call-overload]
        session.rollback()
        assert session.scalar(text("select action from audit_entries")) == "user.created"
