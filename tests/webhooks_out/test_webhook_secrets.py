"""Endpoint signing secrets are sealed at rest under a key derived from NURTURE_SECRET_KEY:
the database never holds one in the clear, posts still verify, an endpoint stored before
sealing keeps working, and a changed app secret holds posts back with a clear reason."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.webhooks_out.models import DeliveryStatus
from nurture.webhooks_out.sealing import SecretUnreadable, seal, unseal
from nurture.webhooks_out.sender import UNSIGNABLE, send_due
from nurture.webhooks_out.signing import SIGNATURE_HEADER, verify
from tests.support import Database
from tests.webhooks_out.outbox import POLICY, app_secret, deliveries, download, endpoint, send
from tests.webhooks_out.receiver import receiver

OTHER_APP_SECRET = "another-app-secret-of-32-characters"


def stored_secret(db: Database, endpoint_id: int) -> str:
    """The column's raw value, as a look at the database shows it."""
    with db.factory() as session:
        value: str = session.execute(
            text("SELECT secret FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
        ).scalar_one()
    return value


def database_files(db: Database) -> bytes:
    """Every byte SQLite keeps for the database: the file and its write-ahead log."""
    path = Path(str(db.engine.url.database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_the_database_holds_no_plaintext_signing_secret_and_posts_still_verify(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with receiver() as crm:
        endpoint_id, secret = endpoint(db, clock, crm.url)
        download(db, clock, settings, "dana")
        assert send(db, clock).delivered == 1

    stored = stored_secret(db, endpoint_id)
    assert stored.startswith("enc:v1:") and secret not in stored
    assert len(stored) <= 400  # fits the column on PostgreSQL too
    if db.kind == "sqlite":  # every byte of the file: no stray copy anywhere
        assert secret.encode() not in database_files(db)
    [post] = crm.received
    assert verify(secret, post.headers[SIGNATURE_HEADER], post.body, int(clock.now().timestamp()))
    assert secret not in caplog.text and stored not in caplog.text


def test_an_endpoint_stored_before_sealing_still_signs_and_is_sealed_when_it_does(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with receiver() as crm:
        endpoint_id, secret = endpoint(db, clock, crm.url)
        with db.factory.begin() as session:  # as the column held it before sealing
            session.execute(
                text("UPDATE webhook_endpoints SET secret = :s WHERE id = :id"),
                {"s": secret, "id": endpoint_id},
            )
        download(db, clock, settings, "dana")
        assert send(db, clock).delivered == 1

    [post] = crm.received
    assert verify(secret, post.headers[SIGNATURE_HEADER], post.body, int(clock.now().timestamp()))
    stored = stored_secret(db, endpoint_id)
    assert stored.startswith("enc:v1:") and unseal(stored, app_secret()) == secret


def test_a_changed_app_secret_holds_posts_back_with_a_clear_reason_not_a_bad_signature(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with receiver() as crm:
        endpoint_id, secret = endpoint(db, clock, crm.url)
        download(db, clock, settings, "dana")
        report = send_due(db.factory, clock, POLICY, app_secret=OTHER_APP_SECRET)
        assert (report.attempted, crm.received) == (0, [])  # nothing posted, signed or not
        [held] = deliveries(db)
        assert (held.status, held.attempts, held.last_error) == (
            DeliveryStatus.FAILED,
            0,  # no attempt spent: the endpoint was never asked
            UNSIGNABLE,
        )
        assert f"webhook endpoint {endpoint_id}: its signing secret does not open" in caplog.text
        assert secret not in caplog.text

        clock.advance(POLICY.lease + timedelta(seconds=1))  # the right key is back
        assert send(db, clock).delivered == 1

    [post] = crm.received
    assert verify(secret, post.headers[SIGNATURE_HEADER], post.body, int(clock.now().timestamp()))


def test_unsealing_with_another_app_secret_says_which_setting_changed() -> None:
    sealed = seal("whsec_example", "the-app-secret-it-was-sealed-with")
    assert unseal(sealed, "the-app-secret-it-was-sealed-with") == "whsec_example"
    with pytest.raises(SecretUnreadable, match="NURTURE_SECRET_KEY"):
        unseal(sealed, OTHER_APP_SECRET)
    assert unseal("whsec_stored_before_sealing", OTHER_APP_SECRET) == "whsec_stored_before_sealing"
