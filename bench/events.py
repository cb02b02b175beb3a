"""SendGrid event posts: one signed 10,000-event batch through the real route, against the
same events applied one at a time, each in its own transaction.

    python -m bench.events [--events 10000] [--messages 2000]

Two fresh PostgreSQL databases are seeded identically (sent emails with deterministic
refs) and dropped afterwards. The batched run goes through the real route and pays for
the HTTP request, JSON parsing and signature check; the one-by-one run calls the same
`apply_events` with one event per transaction, so both apply exactly the same rules and
must end in the same state, which the bench checks.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import time
import warnings
from collections import Counter
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import add_cohort, create_database, drop_database, sync_seeded_campaign
from nurture.clock import SystemClock, utcnow
from nurture.config import Settings
from nurture.consent.models import ConsentEvent, Suppression
from nurture.db import make_engine
from nurture.deliverability.apply import apply_events
from nurture.deliverability.events import parse_batch
from nurture.deliverability.models import ProviderEvent, SoftBounce
from nurture.deliverability.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment
from nurture.web import webhooks_sendgrid
from nurture.web.deps import get_session_factory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note about httpx vs httpx2
    from fastapi.testclient import TestClient

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DUPLICATE_SHARE = 0.05  # SendGrid re-posts events; a share of every real batch is repeats


def seed_sent_emails(url: str, messages: int) -> dict[str, str]:
    """`messages` leads, each with its welcome email sent; returns address by message ref."""
    engine = make_engine(url)
    try:
        campaign = sync_seeded_campaign(engine)
        cohort = add_cohort(engine, campaign, "events", messages)
        now = utcnow()
        with Session(engine) as session, session.begin():
            rows = session.execute(
                select(Enrollment.id, Lead.id, Lead.email)
                .join(Lead, Lead.id == Enrollment.lead_id)
                .where(Lead.id.between(cohort.first_lead_id, cohort.last_lead_id))
                .order_by(Lead.id)
            ).all()
            refs = {f"bench{lead_id:027d}": email for _, lead_id, email in rows}
            session.execute(
                insert(Message),
                [
                    {
                        "ref": f"bench{lead_id:027d}",
                        "enrollment_id": enrollment_id,
                        "lead_id": lead_id,
                        "campaign_id": campaign.id,
                        "step_key": campaign.first_step,
                        "channel": "email",
                        "status": MessageStatus.SENT.value,
                        "due_at": now,
                        "sent_at": now,
                        "attempts": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for enrollment_id, lead_id, _ in rows
                ],
            )
        return refs
    finally:
        engine.dispose()


def mixed_events(addresses: dict[str, str], total: int, rng: random.Random) -> list[dict[str, Any]]:
    """A realistic day of events for these emails, in time order, with repeats at the end."""
    start = int(utcnow().timestamp()) - 3600
    events: list[dict[str, Any]] = []

    def add(kind: str, ref: str, at: int, **fields: Any) -> None:
        event = {"event": kind, "email": addresses[ref], "timestamp": at, "message_ref": ref}
        event |= {"sg_event_id": f"ev{len(events):08d}", "sg_message_id": f"sg.{ref}"}
        events.append(event | fields)

    for n, ref in enumerate(sorted(addresses)):
        add("processed", ref, start)
        add("delivered", ref, start + 1)
        if n % 20 == 0:
            add("bounce", ref, start + 2, type="bounce", status="5.1.1")
        elif n % 50 == 1:
            for attempt in range(3):
                add("bounce", ref, start + 2 + attempt, type="blocked", status="4.0.0")
        elif n % 50 == 2:
            add("spamreport", ref, start + 5)
        elif n % 50 == 3:
            add("group_unsubscribe", ref, start + 5, asm_group_id=1)
            if n % 100 == 3:
                add("group_resubscribe", ref, start + 6, asm_group_id=1)
        elif n % 100 == 4:
            add("dropped", ref, start + 2, reason="Bounced Address")
    unique = int(total * (1 - DUPLICATE_SHARE))
    refs = sorted(addresses)
    while len(events) < unique:
        kind = rng.choice(["open", "open", "open", "click", "click", "deferred"])
        add(kind, rng.choice(refs), start + 10 + len(events))
    events.sort(key=lambda e: int(e["timestamp"]))
    return events + rng.sample(events, total - len(events))


def signed_post(
    url: str, body: bytes, key: ec.EllipticCurvePrivateKey
) -> tuple[float, dict[str, Any]]:
    """POST the batch through the real route; returns seconds taken and the JSON reply."""
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    settings = Settings().model_copy(
        update={"sendgrid_webhook_public_key": base64.b64encode(der).decode()}
    )
    engine = make_engine(url)
    app = FastAPI()
    app.state.settings, app.state.clock = settings, SystemClock()
    app.include_router(webhooks_sendgrid.router)
    app.dependency_overrides[get_session_factory] = lambda: sessionmaker(
        engine, expire_on_commit=False
    )
    try:
        with TestClient(app) as client:
            started = time.perf_counter()
            timestamp = str(int(time.time()))
            signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            headers = {
                SIGNATURE_HEADER: base64.b64encode(signature).decode(),
                TIMESTAMP_HEADER: timestamp,
                "Content-Type": "application/json",
            }
            response = client.post("/webhooks/sendgrid/events", content=body, headers=headers)
            elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, response.json()
    finally:
        engine.dispose()


def one_by_one(url: str, body: bytes) -> float:
    """The same events, each in its own transaction with its own queries; seconds taken."""
    settings = Settings()
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        started = time.perf_counter()
        for event in parse_batch(body).events:
            with factory.begin() as session:
                apply_events(session, [event], utcnow(), settings)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def end_state(url: str) -> dict[str, object]:
    """What the events left behind, comparable across the two databases."""
    engine: Engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {
                "statuses": Counter(session.scalars(select(Message.status))),
                "counters": tuple(
                    session.execute(
                        select(
                            func.sum(Message.opens),
                            func.sum(Message.clicks),
                            func.sum(Message.deferrals),
                        )
                    ).one()
                ),
                "suppressions": sorted(
                    (address, reason)
                    for address, reason in session.execute(
                        select(Suppression.address, Suppression.reason)
                    )
                ),
                "consent": Counter(
                    (action, source)
                    for action, source in session.execute(
                        select(ConsentEvent.action, ConsentEvent.source)
                    )
                ),
                "events": session.scalar(select(func.count()).select_from(ProviderEvent)),
                "soft_bounces": sorted(
                    (address, count)
                    for address, count in session.execute(
                        select(SoftBounce.address, SoftBounce.count)
                    )
                ),
            }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2_000)
    args = parser.parse_args()
    batched_url = one_by_one_url = ""
    try:
        started = time.perf_counter()
        batched_url, one_by_one_url = create_database(ADMIN_URL), create_database(ADMIN_URL)
        addresses = seed_sent_emails(batched_url, args.messages)
        assert seed_sent_emails(one_by_one_url, args.messages) == addresses
        events = mixed_events(addresses, args.events, random.Random(2026))
        body = json.dumps(events).encode()
        kinds = ", ".join(f"{n} {k}" for k, n in Counter(e["event"] for e in events).most_common())
        print(f"seeded {args.messages} sent emails twice in {time.perf_counter() - started:.1f} s")
        print(f"batch: {len(events)} events, {len(body) / 1e6:.1f} MB: {kinds}")

        seconds, reply = signed_post(batched_url, body, ec.generate_private_key(ec.SECP256R1()))
        batched = len(events) / seconds
        print(f"one signed POST: {seconds:.2f} s, {batched:.0f} ev/s; reply {reply}")
        slow = one_by_one(one_by_one_url, body)
        naive = len(events) / slow
        print(f"one event per transaction: {slow:.2f} s, {naive:.0f} ev/s")
        same = end_state(batched_url) == end_state(one_by_one_url)
        print(f"both databases end in the same state: {'yes' if same else 'NO'}")
        if not same:
            raise SystemExit("the batched and one-by-one runs disagree")
        print(f"events: {batched:.0f} ev/s, one-by-one: {naive:.0f} ev/s, {batched / naive:.1f}x")
    finally:
        for url in (batched_url, one_by_one_url):
            if url:
                drop_database(ADMIN_URL, url)


if __name__ == "__main__":
    main()
