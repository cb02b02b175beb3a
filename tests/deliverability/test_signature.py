"""The verifier accepts exactly what SendGrid signed, recently, with the configured key."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nurture.deliverability.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRejected,
    UnusableKey,
    verify_event_signature,
)
from tests.deliverability.conftest import Signer, new_signer
from tests.support import START

BODY = b'[{"event":"delivered","sg_event_id":"e1","message_ref":"abc"}]'
MAX_AGE = timedelta(minutes=10)


def verify(signer: Signer, headers: dict[str, str], body: bytes = BODY, key: str = "") -> None:
    verify_event_signature(
        key or signer.public_key_b64,
        headers.get(SIGNATURE_HEADER),
        headers.get(TIMESTAMP_HEADER),
        body,
        START,
        MAX_AGE,
    )


def test_a_post_signed_by_the_configured_key_is_accepted(signer: Signer) -> None:
    verify(signer, signer.headers(BODY, START - timedelta(seconds=30)))


def test_key_pasted_with_pem_armour_and_line_breaks_still_verifies(signer: Signer) -> None:
    b64 = signer.public_key_b64
    pem = "-----BEGIN PUBLIC KEY-----\n" + b64[:40] + "\n" + b64[40:] + "\n-----END PUBLIC KEY-----"
    verify(signer, signer.headers(BODY, START), key=pem)


def test_a_body_changed_after_signing_is_rejected(signer: Signer) -> None:
    headers = signer.headers(BODY, START)
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(signer, headers, body=BODY.replace(b"delivered", b"bounce"))


def test_a_post_signed_by_another_key_is_rejected(signer: Signer) -> None:
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(signer, new_signer().headers(BODY, START))


def test_a_signature_replayed_with_a_new_timestamp_is_rejected(signer: Signer) -> None:
    headers = signer.headers(BODY, START - timedelta(minutes=30))
    headers[TIMESTAMP_HEADER] = str(int(START.timestamp()))
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(signer, headers)


def test_a_post_signed_more_than_ten_minutes_ago_is_rejected(signer: Signer) -> None:
    with pytest.raises(SignatureRejected, match="too old"):
        verify(signer, signer.headers(BODY, START - timedelta(minutes=10, seconds=1)))


def test_a_timestamp_far_in_the_future_is_rejected(signer: Signer) -> None:
    with pytest.raises(SignatureRejected, match="future"):
        verify(signer, signer.headers(BODY, START + timedelta(hours=1)))


@pytest.mark.parametrize(
    ("header", "value", "problem"),
    [
        (SIGNATURE_HEADER, "", "missing"),
        (TIMESTAMP_HEADER, "", "missing"),
        (SIGNATURE_HEADER, "not base64 at all!", "not base64"),
        (SIGNATURE_HEADER, base64.b64encode(b"not a DER signature").decode(), "does not match"),
        (TIMESTAMP_HEADER, "2026-11-02T15:00:00Z", "not unix seconds"),
    ],
)
def test_missing_or_garbled_headers_are_rejected(
    signer: Signer, header: str, value: str, problem: str
) -> None:
    headers = signer.headers(BODY, START)
    headers[header] = value
    with pytest.raises(SignatureRejected, match=problem):
        verify(signer, headers)


def p384_key() -> str:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    return base64.b64encode(
        key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).decode()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("   ", "no verification key"),
        ("bm90IGEga2V5", "not a base64 DER public key"),
        (p384_key(), "not an ECDSA P-256 key"),
    ],
)
def test_a_missing_or_unusable_configured_key_refuses_everything(
    signer: Signer, key: str, problem: str
) -> None:
    with pytest.raises(UnusableKey, match=problem):
        verify(signer, signer.headers(BODY, START), key=key)
