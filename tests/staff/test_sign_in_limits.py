"""Sign-in limits hold under a race, across addresses from one IP, and on real time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from nurture.clock import ManualClock
from nurture.db import make_engine
from nurture.staff.models import AuditEntry
from nurture.staff.service import (
    MAX_FAILURES,
    MAX_FAILURES_PER_IP,
    Actor,
    TooManyAttempts,
    authenticate,
    create_user,
)
from tests.staff.accounts import PASSWORD, staff_user
from tests.support import Database

pytestmark = pytest.mark.postgres
ADDRESS = "mara@riverside-pt.example"


@pytest.fixture
def racing_db(fresh_postgres_url: str) -> Iterator[sessionmaker]:  # type: ignore[type-arg]
    engine = make_engine(fresh_postgres_url, pool_size=40, max_overflow=0)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_forty_parallel_wrong_passwords_get_only_five_checked(
    racing_db: sessionmaker,
    clock: ManualClock,  # type: ignore[type-arg]
) -> None:
    with racing_db.begin() as session:
        create_user(session, ADDRESS, "admin", PASSWORD, clock.now(), Actor("cli:test"))
    start = threading.Barrier(40)
    outcomes: list[str] = []

    def guess() -> None:
        start.wait()
        with racing_db() as session:
            try:
                authenticate(session, ADDRESS, "wrong guess", "203.0.113.9", clock.now())
                session.commit()
                outcomes.append("checked")
            except TooManyAttempts:
                outcomes.append("locked")

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("checked") == MAX_FAILURES
    assert outcomes.count("locked") == 40 - MAX_FAILURES
    with racing_db() as session:
        failed = session.scalar(select(func.count()).where(AuditEntry.action == "login.failed"))
    assert failed == MAX_FAILURES


def test_one_ip_cannot_walk_through_staff_addresses(db: Database, clock: ManualClock) -> None:
    staff_user(db, clock)
    for n in range(MAX_FAILURES_PER_IP):
        with db.factory.begin() as session:
            authenticate(
                session, f"guess{n}@riverside-pt.example", "x" * 12, "6.6.6.6", clock.now()
            )
    with db.factory.begin() as session, pytest.raises(TooManyAttempts):
        authenticate(session, ADDRESS, PASSWORD, "6.6.6.6", clock.now())
    with db.factory.begin() as session:  # the real user elsewhere is not locked out
        assert authenticate(session, ADDRESS, PASSWORD, "7.7.7.7", clock.now())


def test_the_lock_lasts_fifteen_real_minutes_on_an_accelerated_clock(
    db: Database, clock: ManualClock
) -> None:
    staff_user(db, clock)
    scale = 1440.0  # a day of campaign time per real minute
    for _ in range(MAX_FAILURES):
        with db.factory.begin() as session:
            authenticate(session, ADDRESS, "guess guess", "9.9.9.9", clock.now(), scale)
    clock.advance(timedelta(hours=5))  # five virtual hours: twelve real seconds
    with db.factory.begin() as session, pytest.raises(TooManyAttempts):
        authenticate(session, ADDRESS, PASSWORD, "9.9.9.9", clock.now(), scale)
    clock.advance(timedelta(minutes=16) * scale)
    with db.factory.begin() as session:
        assert authenticate(session, ADDRESS, PASSWORD, "9.9.9.9", clock.now(), scale)
