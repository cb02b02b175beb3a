"""Invariant 10: no sender ever exceeds its configured rate, however many workers run.

Four worker processes (one prefork worker, concurrency 4) deliver a backlog of texts from
one Twilio number limited to RATE a second; the provider stub counts what arrives in each
wall-clock second. None holds more than RATE, and the backlog goes at RATE: the texts
over the limit wait in the outbox and go at the sender's next moment.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from nurture.config import Settings
from nurture.messages.models import MessageStatus
from tests.e2e.backlog import backlog_campaign, queue_texts, texts_sent_by_workers
from tests.e2e.stack import (
    ProcessGroup,
    message_rows,
    sequence_env,
)
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

RATE = 8  # texts a second from the clinic's number
TEXTS = 80
CAMPAIGN = backlog_campaign("rate")


@pytest.fixture
def redis_db() -> int:
    return 13


def test_four_workers_never_send_faster_than_the_numbers_rate(
    engine: Engine,
    broker: str,
    fresh_postgres_url: str,
    processes: ProcessGroup,
    settings: Settings,
    tmp_path: Path,
) -> None:
    templates = queue_texts(engine, settings, CAMPAIGN, tmp_path / "templates", [None] * TEXTS)
    with ProviderStub() as stub:
        env = sequence_env(
            fresh_postgres_url,
            broker,
            stub.url,
            templates,
            tmp_path / "var",
            SMS_SEND_RATE=str(RATE),
        )
        texts = texts_sent_by_workers(
            processes, env, "rate", tmp_path / "beat-schedule", stub, TEXTS
        )
    arrivals = sorted(r["received_at"] for r in texts)

    assert len(arrivals) == TEXTS
    per_second = Counter(int(at) for at in arrivals)
    assert max(per_second.values()) <= RATE, per_second
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(
        f"sender limited to {RATE}/s, 4 worker processes: {rate:.2f}/s over {TEXTS} texts, "
        f"at most {max(per_second.values())} in any second"
    )
    assert RATE * 0.9 <= rate <= RATE * 1.01, rate
    sent = [row for row in message_rows(engine) if row.channel == "sms"]
    assert {row.status for row in sent} == {MessageStatus.SENT}
