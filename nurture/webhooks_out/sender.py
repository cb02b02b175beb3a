"""Posting what the outbox owes: due deliveries, strictly in order per lead and endpoint.

A delivery is due when its time has come and nothing older for the same lead at the
same endpoint is still open (pending or failed): a lead's "cancelled" never overtakes
its "booked". Only that lead waits; every other lead's deliveries go on.

A claim is a lease, not a lock held over the network: the claiming transaction counts
the attempt and moves `next_attempt_at` past the lease, and commits. If the worker
dies mid-post the delivery falls due again when the lease ends, so a receiver may see
an event twice (delivery is at least once); the event id lets it drop the repeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, and_, exists, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from nurture.clock import Clock
from nurture.config import Settings
from nurture.webhooks_out.endpoints import signing_secret
from nurture.webhooks_out.models import (
    OPEN_STATUSES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from nurture.webhooks_out.posting import PostResult, post
from nurture.webhooks_out.sealing import SecretUnreadable
from nurture.webhooks_out.signing import (
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

log = logging.getLogger(__name__)

BATCH = 100
UNSIGNABLE = "not sent: the signing secret does not open with this NURTURE_SECRET_KEY"
# Posts in flight at once: one slow endpoint then holds a thread, not the whole pass.
CONCURRENCY = 8

Poster = Callable[[str, bytes, dict[str, str], float], PostResult]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up."""

    max_attempts: int
    base: timedelta
    cap: timedelta
    timeout: float
    time_scale: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.webhook_max_attempts,
            base=timedelta(seconds=settings.webhook_retry_base_seconds),
            cap=timedelta(seconds=settings.webhook_retry_cap_seconds),
            timeout=settings.webhook_timeout_seconds,
            time_scale=settings.time_scale,
        )

    def wait_after(self, attempts: int) -> timedelta:
        """How long after the `attempts`-th failure the next attempt is due."""
        wait: timedelta = min(self.base * 2 ** max(attempts - 1, 0), self.cap)
        # Waits are real seconds (the receiver recovers in real time); the clock may run faster.
        return wait * self.time_scale

    @property
    def lease(self) -> timedelta:
        """Longer than any post can take, so a live worker is never overtaken."""
        return timedelta(seconds=max(60.0, self.timeout * 4)) * self.time_scale


@dataclass(frozen=True, slots=True)
class Claimed:
    """One delivery taken for an attempt: what to post, where, signed how."""

    delivery_id: int
    endpoint_id: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class SendReport:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.given_up


def encode(payload: dict[str, object]) -> bytes:
    """The exact bytes posted and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _secret_or_none(endpoint: WebhookEndpoint, app_secret: str) -> str | None:
    try:
        return signing_secret(endpoint, app_secret)
    except SecretUnreadable:
        # The endpoint by id only, and no secret, sealed or not, ever reaches a log.
        log.error(
            "webhook endpoint %s: its signing secret does not open with this "
            "NURTURE_SECRET_KEY; its deliveries wait (restore the key, or re-add the endpoint)",
            endpoint.id,
        )
        return None


def _waits_behind() -> Exists:
    """Whether a delivery has an older open one for the same lead at the same endpoint."""
    earlier = aliased(WebhookDelivery)
    return exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.lead_id == WebhookDelivery.lead_id,
        earlier.id < WebhookDelivery.id,
        earlier.status.in_(OPEN_STATUSES),
    )


def claim_due(
    session: Session, now: datetime, policy: RetryPolicy, limit: int, app_secret: str
) -> list[Claimed]:
    """Take up to `limit` due deliveries, each the oldest open one of its lead and endpoint,
    signed with its endpoint's secret (unsealed with `app_secret`, NURTURE_SECRET_KEY)."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(
            WebhookEndpoint,
            and_(
                WebhookEndpoint.id == WebhookDelivery.endpoint_id,
                WebhookEndpoint.enabled.is_(True),
            ),
        )
        .where(
            WebhookDelivery.status.in_(OPEN_STATUSES),
            WebhookDelivery.next_attempt_at <= now,
            ~_waits_behind(),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        # Several workers may run a pass at once on PostgreSQL; SQLite has one writer.
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    ).all()
    timestamp = int(now.timestamp())
    claimed = []
    secrets: dict[int, str | None] = {}
    for delivery, endpoint in rows:
        if endpoint.id not in secrets:
            secrets[endpoint.id] = _secret_or_none(endpoint, app_secret)
        secret = secrets[endpoint.id]
        if secret is None:
            # Never posted unsigned or badly signed; no attempt is spent, so once the right
            # key is back the delivery goes out as if nothing had happened.
            delivery.status = DeliveryStatus.FAILED
            delivery.last_response_code = None
            delivery.last_error = UNSIGNABLE
            delivery.next_attempt_at = now + policy.lease
            continue
        delivery.attempts += 1
        delivery.next_attempt_at = now + policy.lease
        body = encode(delivery.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Nurture-Webhooks/1",
            EVENT_HEADER: delivery.event_type.value,
            EVENT_ID_HEADER: delivery.event_id,
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        }
        claimed.append(Claimed(delivery.id, endpoint.id, endpoint.url, body, headers))
    return claimed


def next_attempt_due(session: Session) -> datetime | None:
    """When the outbox next owes an attempt; None when it owes nothing.

    Only deliveries a pass could claim count: at an enabled endpoint (a switched-off
    one's queue waits) and first in their lead's line (the rest follow it).
    """
    return session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at))
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status.in_(OPEN_STATUSES),
            WebhookEndpoint.enabled.is_(True),
            ~_waits_behind(),
        )
    )


def record_result(
    session: Session, delivery_id: int, result: PostResult, now: datetime, policy: RetryPolicy
) -> DeliveryStatus | None:
    """Settle an attempt: delivered, failed (due again later) or given up. None: gone."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # the endpoint (or the lead) was removed meanwhile
        return None
    delivery.last_response_code = result.status_code
    delivery.last_error = None if result.ok else result.error[:200]
    if result.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.GIVEN_UP
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now + policy.wait_after(delivery.attempts)
    return delivery.status


def send_due(
    sessions: sessionmaker[Session],
    clock: Clock,
    policy: RetryPolicy,
    *,
    app_secret: str,
    poster: Poster = post,
    limit: int = BATCH,
) -> SendReport:
    """One pass: claim what is due, post it, and record each outcome."""
    with sessions.begin() as session:
        claimed = claim_due(session, clock.now(), policy, limit, app_secret)
    if not claimed:
        return SendReport()
    results = _post_all(claimed, poster, policy.timeout)
    counts = dict.fromkeys(DeliveryStatus, 0)
    with sessions.begin() as session:
        now = clock.now()
        for item, result in zip(claimed, results, strict=True):
            status = record_result(session, item.delivery_id, result, now, policy)
            if status is not None:
                counts[status] += 1
            # The endpoint by id only: its URL may carry a token, the payload personal data.
            log.info(
                "webhook delivery %s to endpoint %s: %s",
                item.delivery_id,
                item.endpoint_id,
                result.status_code or result.error,
            )
    return SendReport(
        counts[DeliveryStatus.DELIVERED],
        counts[DeliveryStatus.FAILED],
        counts[DeliveryStatus.GIVEN_UP],
    )


def _post_all(claimed: Sequence[Claimed], poster: Poster, timeout: float) -> list[PostResult]:
    if len(claimed) == 1:
        item = claimed[0]
        return [poster(item.url, item.body, item.headers, timeout)]
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(claimed))) as pool:
        return list(
            pool.map(lambda item: poster(item.url, item.body, item.headers, timeout), claimed)
        )
