"""Invariant 10: no sender ever exceeds its configured rate, however many workers run.

Four worker processes (one prefork worker, concurrency 4) deliver a backlog of texts from
one Twilio number limited to RATE a second; the provider stub counts what arrives in each
wall-clock second. None holds more than RATE, and the backlog goes at RATE: the texts
over the limit wait in the outbox and go at the sender's next moment.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import SystemClock
from nurture.config import Settings
from nurture.messages.models import MessageStatus
from nurture.sequences.models import Enrollment
from tests.e2e.short_campaign import ShortCampaign, templates_with
from tests.e2e.stack import (
    ProcessGroup,
    beat_argv,
    message_rows,
    sequence_env,
    sync_all_campaigns,
    wait_until,
    worker_argv,
    zone_where_it_is_nine,
)
from tests.factories import capture
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

RATE = 8  # texts a second from the clinic's number
TEXTS = 80
CAMPAIGN = ShortCampaign(
    slug="rate",
    name="Rate test",
    description="A backlog of texts from one number.",
    article="rate-guide",
    article_title="Rate",
    article_summary="Rate.",
    delays=("0m", "0m", "1h", "2h", "3h"),
    sms_hello="{{ clinic.name }}: Hi {{ first_name }}. Reply STOP to opt out.",
)


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
    templates = templates_with(CAMPAIGN, tmp_path / "templates")
    sync_all_campaigns(engine, templates)
    factory = sessionmaker(engine, expire_on_commit=False)
    test_settings = settings.model_copy(update={"templates_dir": templates})
    zone = zone_where_it_is_nine(SystemClock().now())
    for n in range(TEXTS):
        lead = capture(
            factory,
            SystemClock(),
            test_settings,
            email=f"rate{n}@example.com",
            phone=f"+1217555{100 + n:04d}",
            timezone=zone,
            article=CAMPAIGN.article,
        )
        assert lead.enrolled
    with Session(engine) as session, session.begin():  # every text due now
        session.execute(
            update(Enrollment).values(next_step_key="sms-hello", next_due_at=SystemClock().now())
        )
    with ProviderStub() as stub:
        env = sequence_env(
            fresh_postgres_url,
            broker,
            stub.url,
            templates,
            tmp_path / "var",
            SMS_SEND_RATE=str(RATE),
        )
        env["NURTURE_TIME_SCALE"] = "1"
        processes.start("worker", worker_argv("rate", 4), env)
        processes.start("beat", beat_argv(tmp_path / "beat-schedule"), env)
        wait_until(
            lambda: len([r for r in stub.records if r["provider"] == "twilio"]) >= TEXTS,
            90,
            f"{TEXTS} texts to reach the provider",
            interval=0.5,
        )
        time.sleep(1.5)  # anything extra would show up now
        arrivals = sorted(r["received_at"] for r in stub.records if r["provider"] == "twilio")

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
