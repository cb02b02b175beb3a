"""Keys for server-to-server lead capture (a website back end, Zapier): staff create and
revoke them with `nurture api-keys`; only a SHA-256 of each key is stored.

A key proves the caller is a system the clinic set up, so its posts are counted against
the key's own rate instead of one shared IP's, and its consent evidence names the key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.db import Base

PREFIX = "nrt_"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKeyError(ValueError):
    """A key request that cannot be carried out; the message says why."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, now: datetime) -> str:
    """A new key named `name`; the key itself is returned once and never stored."""
    name = name.strip().lower()
    if not NAME.match(name):
        raise ApiKeyError("name the key with lower-case letters, digits and dashes, e.g. zapier")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} exists already; revoke it or pick another name")
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key), hint=key[:10], created_at=now))
    return key


def revoke_key(session: Session, name: str, now: datetime) -> None:
    """Stop a key from working, at once."""
    key = session.scalar(select(ApiKey).where(ApiKey.name == name.strip().lower()))
    if key is None:
        raise ApiKeyError(f"there is no key named {name.strip()!r}")
    key.revoked_at = key.revoked_at or now


def find_key(session: Session, given: str, now: datetime) -> ApiKey | None:
    """The live key matching `given`, marked as used; None for an unknown or revoked one."""
    if not given.startswith(PREFIX) or len(given) > 100:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(given)))
    if key is None or key.revoked_at is not None:
        return None
    key.last_used_at = now
    return key


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))
