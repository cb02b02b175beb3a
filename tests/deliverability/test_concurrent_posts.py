"""SendGrid may re-post a batch while the first post is still being applied."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import make_engine
from nurture.deliverability.apply import BatchReport, apply_events
from nurture.deliverability.events import ProviderEventIn, parse_event
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message
from tests.deliverability.conftest import Sequence, sendgrid_event
from tests.factories import capture
from tests.support import Database


@pytest.fixture
def committed_db(fresh_postgres_url: str) -> Iterator[Database]:
    """PostgreSQL whose commits other connections see (no rolled-back outer transaction)."""
    engine = make_engine(fresh_postgres_url)
    yield Database(
        "postgres", fresh_postgres_url, engine, sessionmaker(engine, expire_on_commit=False)
    )
    engine.dispose()


def test_the_same_batch_posted_twice_at_once_is_applied_once(
    committed_db: Database,
    clock: ManualClock,
    settings: Settings,
    seeded_definition: CampaignDefinition,
) -> None:
    with committed_db.factory.begin() as session:
        sync_campaign(session, seeded_definition, clock.now())
    sequence = Sequence(committed_db, clock, settings)
    capture(committed_db.factory, clock, settings)
    sequence.run(until=clock.now())
    welcome = sequence.messages()["welcome-article"]
    raw = [sendgrid_event("delivered", welcome.ref, clock.now())]
    raw += [sendgrid_event("open", welcome.ref, clock.now()) for _ in range(300)]
    events = [
        e for i, item in enumerate(raw) if isinstance(e := parse_event(i, item), ProviderEventIn)
    ]
    start = threading.Barrier(2)
    reports: list[BatchReport] = []

    def post() -> None:
        start.wait()
        with committed_db.factory.begin() as session:
            reports.append(apply_events(session, events, clock.now(), settings))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.applied for r in reports) == [0, 301]
    assert sorted(r.duplicates for r in reports) == [0, 301]
    with committed_db.factory() as session:
        stored = session.get_one(Message, welcome.id)
        recorded = session.scalar(select(func.count()).select_from(ProviderEvent))
    assert (stored.status, stored.opens, recorded) == ("delivered", 300, 301)
