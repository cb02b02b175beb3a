"""Shared fixtures: settings in a temp folder, both databases, a manual clock, no network.

With NURTURE_REQUIRE_SERVICES=1 (CI), a missing PostgreSQL, Redis, Prism or Chromium
fails the test instead of skipping it.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from nurture.campaigns.definition import CampaignDefinition, load_campaign_dir
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings, get_settings
from nurture.db import get_engine, get_sessionmaker, make_engine
from nurture.migrate import upgrade
from nurture.staff import passwords
from nurture.web.app import create_app
from nurture.web.deps import get_session_factory
from tests.e2e.stack import flush_redis, redis_available, redis_url_for
from tests.support import (
    POSTGRES_ADMIN_URL,
    REPO,
    START,
    Database,
    need,
)
from workers.context import use_context


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise OSError(f"tests may not reach {host}: only loopback is allowed")
        return real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id at argon2-cffi's cheapest parameters in this process: the same code and
    hash format without 180 ms of CPU for every sign-in a test makes. The production
    parameters have a test of their own (tests/staff/test_staff_accounts.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        yield


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Embedded-mode settings whose files live in this test's temp folder."""
    for name in list(os.environ):
        if name.startswith(("SENDGRID_", "TWILIO_", "CLINIC_")) or name in {
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "EMAIL_CHANNEL",
            "SMS_CHANNEL",
            "NURTURE_TIME_SCALE",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NURTURE_ENV", "test")
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'nurture.db'}")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://care.example.test")
    _clear_caches()
    yield get_settings()
    _clear_caches()


def _clear_caches() -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker):
        cached.cache_clear()
    use_context(None)  # tasks run in this process build theirs from the new settings


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_database(settings: Settings, sqlite_template: Path) -> None:
    """The settings' SQLite file as `nurture db upgrade` leaves it: a copy of the session's
    migrated template (the command itself has tests of its own, in tests/cli)."""
    path = Path(str(make_url(settings.database_url).database))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sqlite_template, path)


def postgres_available() -> bool:
    try:
        engine = make_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def create_postgres_database(*, migrated: bool = True) -> str:
    """A new empty database, migrated unless asked not to; returns its URL."""
    need("PostgreSQL", postgres_available(), POSTGRES_ADMIN_URL)
    name = f"nurture_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    if migrated:
        upgrade(url)
    return url


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A database of its own with no tables yet: `nurture db upgrade` is the test's to run."""
    url = create_postgres_database(migrated=False)
    yield url
    drop_postgres_database(url)


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A database of its own, for tests whose other processes must see committed rows."""
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """Each test on both backends; on PostgreSQL inside an outer transaction rolled back after."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Database("sqlite", url, engine, sessionmaker(engine, expire_on_commit=False))
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield Database("postgres", url, engine, factory)
    outer.rollback()
    connection.close()
    engine.dispose()


@pytest.fixture
def app(db: Database, clock: ManualClock) -> FastAPI:
    """The real app, its sessions on the test database and its clock manual."""
    app = create_app()
    app.dependency_overrides[get_session_factory] = lambda: db.factory
    app.state.clock = clock
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient on `app` that shows redirects instead of following them."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def redis_db() -> int:
    """The Redis database number of the test module; each module overrides this."""
    pytest.fail("define a `redis_db` fixture returning the module's own number", pytrace=False)


@pytest.fixture
def broker(redis_db: int) -> Iterator[str]:
    """A Redis database of this test's own, empty before and after."""
    url = redis_url_for(redis_db)
    need("Redis", redis_available(url), url)
    flush_redis(url)
    yield url
    flush_redis(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def seeded_definition() -> CampaignDefinition:
    return load_campaign_dir(REPO / "templates" / "campaigns" / "hamstring-sciatica")


@pytest.fixture
def campaign(db: Database, clock: ManualClock, seeded_definition: CampaignDefinition) -> int:
    """The seeded campaign, synced; returns its id."""
    with db.factory.begin() as session:
        return sync_campaign(session, seeded_definition, clock.now()).campaign_id
