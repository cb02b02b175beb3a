"""A 10,000-event post (SendGrid batches under load) is applied whole, in one request."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from nurture.consent.models import Suppression
from nurture.leads.models import Lead
from nurture.messages.models import Message
from tests.deliverability.conftest import Sequence, Webhook, sendgrid_event
from tests.factories import capture

# A 10,000-event post; left out of `make quick`, run by `make test`.
pytestmark = pytest.mark.slow

LEADS = 100
EVENTS = 10_000
REPEATS = 200
UNKNOWN = 100


def welcome_emails(sequence: Sequence) -> dict[str, str]:
    """Welcome emails sent to LEADS leads: address by message ref."""
    for n in range(LEADS):
        factory, clock, settings = sequence.db.factory, sequence.clock, sequence.settings
        capture(factory, clock, settings, email=f"lead{n}@example.com", phone=None)
    sequence.run(until=sequence.clock.now())
    with sequence.db.factory() as session:
        rows = session.execute(
            select(Message.ref, Lead.email)
            .join(Lead, Lead.id == Message.lead_id)
            .where(Message.step_key == "welcome-article")
        )
        return {ref: email for ref, email in rows}


def test_ten_thousand_mixed_events_in_one_post_are_all_applied(
    webhook: Webhook, sequence: Sequence, campaign: int
) -> None:
    addresses = welcome_emails(sequence)
    refs = sorted(addresses)
    rng = random.Random(7)
    at = sequence.clock.now()

    def event(kind: str, ref: str, seconds: int, **fields: Any) -> dict[str, Any]:
        when = at + timedelta(seconds=seconds)
        return sendgrid_event(kind, ref, when, email=addresses.get(ref, "x@example.com"), **fields)

    events = []
    for n, ref in enumerate(refs):
        events += [event("processed", ref, 0), event("delivered", ref, 1)]
        if n % 10 == 0:
            events.append(event("bounce", ref, 2, type="bounce"))
        elif n % 10 == 1:
            events.append(event("spamreport", ref, 2))
    while len(events) < EVENTS - REPEATS - UNKNOWN:
        kind = rng.choice(["open", "open", "open", "click", "deferred"])
        events.append(event(kind, rng.choice(refs), 3))
    unknown = [event("open", "f" * 32, 3) for _ in range(UNKNOWN)]
    batch = events + unknown + rng.sample(events, REPEATS)
    rng.shuffle(batch)

    response = webhook.post(batch)

    kinds = Counter(e["event"] for e in events)
    # The emails' links are short links, which count their clicks: SendGrid's are kept, not counted.
    clicks = kinds["click"]
    assert response.status_code == 200
    assert response.json() == {
        "received": EVENTS,
        "applied": EVENTS - REPEATS - UNKNOWN - clicks,
        "duplicates": REPEATS,
        "ignored": UNKNOWN + clicks,
        "rejected": [],
    }
    with sequence.db.factory() as session:
        totals = session.execute(
            select(func.sum(Message.opens), func.sum(Message.clicks), func.sum(Message.deferrals))
        ).one()
        statuses = Counter(session.scalars(select(Message.status)))
        suppressions = Counter(session.scalars(select(Suppression.reason)))
    assert tuple(totals) == (kinds["open"], 0, kinds["deferred"])
    assert statuses == {"failed": 10, "delivered": 90}
    assert suppressions == {"hard bounce": 10, "spam complaint": 10}
