"""The signature on every post: HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret.

The timestamp is signed with the body so a receiver can refuse an old post replayed
later; the README shows the receiver's side in a few lines of Python.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Nurture-Signature"
EVENT_HEADER = "Nurture-Event"
EVENT_ID_HEADER = "Nurture-Event-Id"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp.body` under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The Nurture-Signature value: `t=<unix seconds>,v1=<hex digest>`."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret` and was made within `tolerance` seconds."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))
