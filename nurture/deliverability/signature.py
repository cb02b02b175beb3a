"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid's clock and ours may disagree a little; a timestamp further ahead than this
# was not made by SendGrid for this request.
FUTURE_SKEW = timedelta(minutes=5)
_UNIX_SECONDS = re.compile(r"^\d{1,12}$")
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) PUBLIC KEY-----")


class SignatureRejected(Exception):
    """The post is not provably from SendGrid; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnusableKey(SignatureRejected):
    """The configured verification key is missing or not a P-256 public key."""


@lru_cache(maxsize=4)
def load_public_key(public_key_b64: str) -> ec.EllipticCurvePublicKey:
    """The key as SendGrid shows it (base64 DER SubjectPublicKeyInfo; PEM armour tolerated)."""
    text = "".join(_PEM_ARMOUR.sub("", public_key_b64).split())
    if not text:
        raise UnusableKey("no verification key is configured")
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise UnusableKey("the verification key is not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise UnusableKey("the verification key is not an ECDSA P-256 key")
    return key


def verify_event_signature(
    public_key_b64: str,
    signature_b64: str | None,
    timestamp: str | None,
    raw_body: bytes,
    now: datetime,
    max_age: timedelta,
) -> None:
    """Return if SendGrid signed exactly these bytes recently; else raise SignatureRejected."""
    key = load_public_key(public_key_b64)
    if not signature_b64 or not timestamp:
        raise SignatureRejected("signature or timestamp header missing")
    if not _UNIX_SECONDS.match(timestamp):
        raise SignatureRejected("timestamp header is not unix seconds")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRejected("signature header is not base64") from None
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (OverflowError, OSError, ValueError):  # 999999999999 is past year 9999
        raise SignatureRejected("timestamp is not a time") from None
    # A captured post replayed later must not be accepted again once events are pruned.
    if signed_at < now - max_age:
        raise SignatureRejected("timestamp is too old")
    if signed_at > now + FUTURE_SKEW:
        raise SignatureRejected("timestamp is in the future")
    try:
        key.verify(signature, timestamp.encode() + raw_body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise SignatureRejected("signature does not match") from None
