"""A lead captured over HTTP receives a whole email + SMS sequence from real processes.

Web (uvicorn), Celery beat and a prefork Celery worker run as separate processes on a
database of their own and Redis, on an accelerated clock (one virtual hour every three
real seconds); the official SendGrid and Twilio SDKs send to the provider stub.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.validate import validate_definition
from nurture.clock import anchored_clock
from nurture.config import PROJECT_ROOT
from nurture.db import make_engine
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment
from tests.e2e.stack import (
    ProcessGroup,
    beat_argv,
    flush_redis,
    provider_env,
    redis_available,
    redis_url_for,
    service_env,
    sync_all_campaigns,
    wait_until,
    web_argv,
    worker_argv,
)
from tests.helpers.net import free_port
from tests.helpers.provider_stub import ProviderStub
from tests.support import need

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

BROKER_URL = redis_url_for(7)
TIME_SCALE = 1200  # one virtual hour every three real seconds
DISPATCH_INTERVAL = 0.25  # real seconds between beat's dispatch ticks
PHONE = "+12175550199"
# (step key, channel, delay from sign-up) — no send windows; SMS quiet hours still apply.
STEPS = [
    ("welcome", "email", timedelta(0)),
    ("sms-hello", "sms", timedelta(hours=1)),
    ("follow-up", "email", timedelta(hours=2)),
    ("sms-nudge", "sms", timedelta(hours=4)),
    ("invitation", "email", timedelta(hours=6)),
]
# How late a message may leave, in virtual time. A due step waits for beat's next tick
# (at most one dispatch interval), then for the dispatch task, the deliver task and the
# provider round trip. Those take ~0.1 s on an idle machine but up to ~1.2 s on a busy
# 2-core one (other test runs sharing it), so 1.25 s of slack on top of the interval,
# times the scale: 30 virtual minutes. That is half the shortest planned gap, so a step
# sent early, late by a step, or together with its neighbour still fails.
LATENESS = timedelta(seconds=(DISPATCH_INTERVAL + 1.25) * TIME_SCALE)

CAMPAIGN_YAML = """\
slug: e2e-short
name: "End-to-end short sequence"
description: "Five steps over six hours, for the real-worker end-to-end test."
article: e2e-guide
steps:
  - key: welcome
    delay: 0m
    channel: email
    template: 01-welcome.md.j2
    subject: "{{ first_name }}, here is your guide"
  - key: sms-hello
    delay: 1h
    channel: sms
    template: 02-sms-hello.txt.j2
    condition: sms_consent
  - key: follow-up
    delay: 2h
    channel: email
    template: 03-follow-up.md.j2
    subject: "A second short note"
  - key: sms-nudge
    delay: 4h
    channel: sms
    template: 04-sms-nudge.txt.j2
    condition: sms_consent
  - key: invitation
    delay: 6h
    channel: email
    template: 05-invitation.md.j2
    subject: "{{ first_name }}, your free screening is waiting"
"""
TEMPLATES = {
    "01-welcome.md.j2": "Hi {{ first_name }},\n\nYour guide: [read it]({{ article_url }}).\n",
    "02-sms-hello.txt.j2": (
        "{{ clinic.name }}: Hi {{ first_name }}, your guide: {{ article_url }} "
        "Reply STOP to opt out, HELP for help."
    ),
    "03-follow-up.md.j2": "Hi {{ first_name }},\n\nA second note from {{ clinic.name }}.\n",
    "04-sms-nudge.txt.j2": (
        "{{ clinic.name }}: a quick tip, {{ first_name }}: keep moving. Reply STOP to opt out."
    ),
    "05-invitation.md.j2": "Hi {{ first_name }},\n\n[Book a free screening]({{ booking_url }}).\n",
}
ARTICLE = """\
---
title: "A short guide for the end-to-end test"
summary: "Five messages in six hours."
campaign: e2e-short
---

A short guide.
"""


@pytest.fixture
def broker() -> Iterator[str]:
    """A Redis database of this test's own, empty before and after."""
    need("Redis", redis_available(BROKER_URL), BROKER_URL)
    flush_redis(BROKER_URL)
    yield BROKER_URL
    flush_redis(BROKER_URL)


@pytest.fixture
def engine(fresh_postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    """A copy of templates/ with the short campaign and its article added."""
    root = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", root)
    campaign = root / "campaigns" / "e2e-short"
    campaign.mkdir()
    (campaign / "campaign.yaml").write_text(CAMPAIGN_YAML)
    for name, source in TEMPLATES.items():
        (campaign / name).write_text(source)
    (root / "articles" / "e2e-guide.md").write_text(ARTICLE)
    errors = [
        f for f in validate_definition(load_campaign_dir(campaign), root) if f.severity == "error"
    ]
    assert not errors, errors
    return root


def zone_where_it_is_nine(moment: datetime) -> str:
    """A fixed-offset zone in which `moment` falls in the 09:00 hour."""
    offset = (9 - moment.hour + 12) % 24 - 12  # -12..+11 hours from UTC
    if offset == 0:
        return "Etc/GMT"
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def test_lead_captured_over_http_gets_every_step_once_on_schedule(
    fresh_postgres_url: str,
    engine: Engine,
    broker: str,
    templates_dir: Path,
    processes: ProcessGroup,
    tmp_path: Path,
) -> None:
    sync_all_campaigns(engine, templates_dir)
    factory = sessionmaker(engine, expire_on_commit=False)
    # Anchored here, before any process starts, so all of them share one virtual clock.
    clock = anchored_clock(factory, TIME_SCALE)
    web_port = free_port()
    with ProviderStub() as stub:
        env = service_env(
            fresh_postgres_url,
            broker,
            **provider_env(stub.url),
            NURTURE_TEMPLATES_DIR=str(templates_dir),
            NURTURE_DATA_DIR=str(tmp_path / "var"),
            NURTURE_TIME_SCALE=str(TIME_SCALE),
            NURTURE_DISPATCH_INTERVAL=str(DISPATCH_INTERVAL),
            # Five messages in six virtual hours exceed the clinic's frequency caps on
            # purpose; the caps have tests of their own.
            EMAIL_FREQUENCY_CAP="",
            SMS_FREQUENCY_CAP="",
        )
        worker = processes.start("worker", worker_argv("sequence", 2), env)
        beat = processes.start("beat", beat_argv(tmp_path / "beat-schedule"), env)
        web = processes.start("web", web_argv(web_port), env)
        worker.wait_for_log(" ready.", timeout=30)
        web.wait_for_port(web_port, timeout=30)
        # Beat's first dispatch passes warm the worker (connections, imports), so the
        # first step's timing measures the schedule, not a cold start.
        wait_until(
            lambda: worker.log().count("nurture.dispatch") >= 6,
            30,
            "the worker to run beat's first dispatch passes",
            abort=worker.trouble,
        )

        timezone = zone_where_it_is_nine(clock.now())
        response = httpx.post(
            f"http://127.0.0.1:{web_port}/api/leads",
            json={
                "article": "e2e-guide",
                "first_name": "Robin",
                "email": "robin@example.com",
                "phone": PHONE,
                "timezone": timezone,
                "consent": {"email": True, "sms": True},
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        public_id = response.json()["lead_id"]

        def sequence_sent() -> list[Message] | None:
            with Session(engine) as session:
                rows = list(
                    session.scalars(
                        select(Message)
                        .join(Lead, Lead.id == Message.lead_id)
                        .where(Lead.public_id == public_id)
                    )
                )
            done = len(rows) == len(STEPS) and all(r.status == MessageStatus.SENT for r in rows)
            return rows if done else None

        def trouble() -> str | None:
            return worker.trouble() or beat.trouble() or web.trouble()

        rows = wait_until(sequence_sent, 60, "every step to be sent", abort=trouble)
        received = list(stub.records)

    with Session(engine) as session:
        enrolled_at = session.scalars(
            select(Enrollment.enrolled_at)
            .join(Lead, Lead.id == Enrollment.lead_id)
            .where(Lead.public_id == public_id)
        ).one()
    order = [key for key, _, _ in STEPS]
    rows.sort(key=lambda row: order.index(row.step_key))
    assert [(r.step_key, r.channel) for r in rows] == [(k, c) for k, c, _ in STEPS]
    assert all(r.provider_id for r in rows)

    # The provider got each step exactly once, in the campaign's order.
    assert len(received) == len(STEPS)
    assert all(n == 1 for n in Counter(record["provider_id"] for record in received).values())
    by_provider_id = {row.provider_id: row for row in rows}
    received.sort(key=lambda record: record["received_at"])
    assert [by_provider_id[record["provider_id"]].step_key for record in received] == order
    for record in received:
        row = by_provider_id[record["provider_id"]]
        if record["provider"] == "sendgrid":
            assert (record["message_ref"], record["to"]) == (row.ref, "robin@example.com")
        else:
            assert (record["to"], record["body"]) == (PHONE, row.summary)

    # Each step left on time in virtual time: never early, at most LATENESS late, so
    # the gaps between consecutive sends match the planned gaps.
    sent_at = [row.sent_at for row in rows if row.sent_at is not None]
    assert len(sent_at) == len(STEPS)
    for (key, _, delay), moment in zip(STEPS, sent_at, strict=True):
        assert timedelta(0) <= moment - (enrolled_at + delay) <= LATENESS, (key, moment)
    planned_gaps = [b[2] - a[2] for a, b in itertools.pairwise(STEPS)]
    actual_gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    for planned, actual in zip(planned_gaps, actual_gaps, strict=True):
        assert abs(actual - planned) <= LATENESS, (planned, actual)
