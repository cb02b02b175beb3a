"""A backlog of texts all due now, for the tests of senders' rates: a short campaign whose
first text is sent to every lead at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import SystemClock
from nurture.config import Settings
from nurture.sequences.models import Enrollment
from tests.e2e.short_campaign import ShortCampaign, templates_with
from tests.e2e.stack import (
    ProcessGroup,
    beat_argv,
    sync_all_campaigns,
    wait_until,
    worker_argv,
    zone_where_it_is_nine,
)
from tests.factories import capture
from tests.helpers.provider_stub import ProviderStub


def backlog_campaign(slug: str) -> ShortCampaign:
    """A campaign whose welcome text says who sends it (the clinic's or location's name)."""
    return ShortCampaign(
        slug=slug,
        name=f"{slug.capitalize()} rate test",
        description="A backlog of texts from one number.",
        article=f"{slug}-guide",
        article_title=slug.capitalize(),
        article_summary=f"{slug.capitalize()}.",
        delays=("0m", "0m", "1h", "2h", "3h"),
        sms_hello="{{ clinic.name }}: Hi {{ first_name }}. Reply STOP to opt out.",
    )


def queue_texts(
    engine: Engine,
    settings: Settings,
    campaign: ShortCampaign,
    folder: Path,
    locations: Sequence[str | None],
) -> Path:
    """Sync the campaign, capture one lead per entry of `locations` (a location's slug, or
    None for the nearest) where it is nine in the morning, and make every lead's text due
    now; returns the templates folder the workers must use."""
    templates = templates_with(campaign, folder)
    sync_all_campaigns(engine, templates)
    factory = sessionmaker(engine, expire_on_commit=False)
    test_settings = settings.model_copy(update={"templates_dir": templates})
    zone = zone_where_it_is_nine(SystemClock().now())
    for n, location in enumerate(locations):
        lead = capture(
            factory,
            SystemClock(),
            test_settings,
            email=f"{campaign.slug}{n}@example.com",
            phone=f"+1217555{100 + n:04d}",
            timezone=zone,
            article=campaign.article,
            location=location,
        )
        assert lead.enrolled
    with Session(engine) as session, session.begin():  # every text due now
        session.execute(
            update(Enrollment).values(next_step_key="sms-hello", next_due_at=SystemClock().now())
        )
    return templates


def texts_sent_by_workers(
    processes: ProcessGroup,
    env: dict[str, str],
    worker: str,
    beat_schedule: Path,
    stub: ProviderStub,
    expected: int,
) -> list[dict[str, Any]]:
    """Start a worker of 4 processes and beat on real time; the texts the stub received
    once `expected` have arrived (and a moment more, so any extra would show)."""
    env = {**env, "NURTURE_TIME_SCALE": "1"}
    processes.start("worker", worker_argv(worker, 4), env)
    processes.start("beat", beat_argv(beat_schedule), env)

    def texts() -> list[dict[str, Any]]:
        return [r for r in stub.records if r["provider"] == "twilio"]

    wait_until(lambda: len(texts()) >= expected, 90, f"{expected} texts", interval=0.5)
    time.sleep(1.5)
    return texts()
