"""Endpoint signing secrets at rest: sealed (Fernet) under a key derived from NURTURE_SECRET_KEY.

The secret has to be readable again, to sign each post, so it is encrypted, not hashed.
The key is the app's own secret run through HKDF-SHA256 with a purpose of its own, so
the same setting's other uses (sessions, links) never share a key with this one. A
sealed value reads `enc:v1:<Fernet token>`; anything else is a secret stored before
sealing, read as it is and sealed the next time its endpoint is saved or signs a post.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "enc:v1:"
_PURPOSE = b"nurture.webhooks_out.endpoint-secret.v1"


class SecretUnreadable(RuntimeError):
    """A sealed secret that this app secret cannot open: NURTURE_SECRET_KEY changed since."""


def _fernet(app_secret: str) -> Fernet:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_PURPOSE).derive(app_secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def is_sealed(stored: str) -> bool:
    """Whether a stored value is sealed (False: a plaintext secret from before sealing)."""
    return stored.startswith(SEALED_PREFIX)


def seal(secret: str, app_secret: str) -> str:
    """The value to store for `secret`: `enc:v1:` and a Fernet token."""
    return SEALED_PREFIX + _fernet(app_secret).encrypt(secret.encode()).decode("ascii")


def unseal(stored: str, app_secret: str) -> str:
    """The secret a stored value holds; SecretUnreadable when `app_secret` cannot open it."""
    if not is_sealed(stored):
        return stored
    try:
        return _fernet(app_secret).decrypt(stored.removeprefix(SEALED_PREFIX)).decode()
    except (InvalidToken, UnicodeDecodeError):
        # No detail from the token: the message goes to logs and the delivery log.
        raise SecretUnreadable(
            "the signing secret was sealed under another NURTURE_SECRET_KEY: restore that "
            "key, or remove the endpoint and add it again"
        ) from None
