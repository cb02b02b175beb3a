"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's recommended default (RFC 9106, low memory: 64 MiB, 3 passes), named so a
# library upgrade that changes its default shows up as a failing test, not silently.
PRODUCTION_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
# Checked when the email is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_LENGTH = 12


class WeakPassword(ValueError):
    """The password is too short to protect a staff account."""


def check_strength(password: str) -> None:
    """Raise WeakPassword unless the password is long enough."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")


def hash_password(password: str) -> str:
    """An Argon2id hash with its own salt and parameters encoded in it."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; with no hash, spend the same time and refuse."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
