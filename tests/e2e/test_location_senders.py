"""Invariant 10 across locations: each clinic's own number keeps its own rate, however
many workers send for every clinic at once.

Two locations: the clinic's number limited to MAIN_RATE a second, and Northside's long
code limited to NORTH_RATE. Four worker processes deliver a backlog of texts for both;
the provider stub counts, per sending number, what arrives in each wall-clock second.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from nurture.clock import SystemClock
from nurture.config import Settings
from nurture.locations.spec import parse_locations, sync_locations
from nurture.messages.models import MessageStatus
from tests.e2e.backlog import backlog_campaign, queue_texts, texts_sent_by_workers
from tests.e2e.stack import (
    ProcessGroup,
    message_rows,
    sequence_env,
)
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

CLINIC_NUMBER = "+12175550100"  # the stack's TWILIO_FROM_NUMBER (tests.e2e.stack)
NORTH_NUMBER = "+13035550111"
MAIN_RATE, NORTH_RATE = 6, 1  # a long code sends about one segment a second
MAIN_TEXTS, NORTH_TEXTS = 36, 8
CAMPAIGN = backlog_campaign("locations")


@pytest.fixture
def redis_db() -> int:
    return 12


def test_each_locations_number_keeps_its_own_rate_across_four_workers(
    engine: Engine,
    broker: str,
    fresh_postgres_url: str,
    processes: ProcessGroup,
    settings: Settings,
    tmp_path: Path,
) -> None:
    with sessionmaker(engine).begin() as session:
        north = {"slug": "northside", "name": "Northside", "sms_sender": NORTH_NUMBER}
        specs = parse_locations({"locations": [{"slug": "main"}, dict(north, sms_rate=NORTH_RATE)]})
        sync_locations(session, specs, SystemClock().now())
    at = ["northside"] * NORTH_TEXTS + ["main"] * MAIN_TEXTS
    templates = queue_texts(engine, settings, CAMPAIGN, tmp_path / "templates", at)
    total = MAIN_TEXTS + NORTH_TEXTS
    with ProviderStub() as stub:
        env = sequence_env(
            fresh_postgres_url,
            broker,
            stub.url,
            templates,
            tmp_path / "var",
            SMS_SEND_RATE=str(MAIN_RATE),
        )
        texts = texts_sent_by_workers(
            processes, env, "locations", tmp_path / "beat-schedule", stub, total
        )

    by_sender = Counter(r["sender"] for r in texts)
    assert by_sender == {CLINIC_NUMBER: MAIN_TEXTS, NORTH_NUMBER: NORTH_TEXTS}
    for sender, rate in ((CLINIC_NUMBER, MAIN_RATE), (NORTH_NUMBER, NORTH_RATE)):
        arrivals = sorted(r["received_at"] for r in texts if r["sender"] == sender)
        per_second = Counter(int(at) for at in arrivals)
        assert max(per_second.values()) <= rate, (sender, per_second)
        achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        print(f"{sender} limited to {rate}/s: {achieved:.2f}/s over {len(arrivals)} texts")
        assert achieved <= rate * 1.01, (sender, achieved)
    northside_bodies = {r["body"].split(":")[0] for r in texts if r["sender"] == NORTH_NUMBER}
    assert northside_bodies == {"Northside"}  # written as the location, not the clinic
    sent = [row for row in message_rows(engine) if row.channel == "sms"]
    assert {row.status for row in sent} == {MessageStatus.SENT}
