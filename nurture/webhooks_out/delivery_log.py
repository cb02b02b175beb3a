"""The delivery log staff read (console and CLI), and "retry now" for a given-up delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.leads.models import Lead
from nurture.webhooks_out.models import DeliveryStatus, WebhookDelivery

LOG_LIMIT = 200


class NotRetryable(ValueError):
    """Only a given-up delivery can be retried by hand; the others retry themselves."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One delivery as the log shows it: no payload, so no personal data beyond the lead id."""

    id: int
    endpoint_id: int
    event_type: str
    event_id: str
    lead_public_id: str
    occurred_at: datetime
    status: DeliveryStatus
    attempts: int
    last_response_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None  # None once settled
    delivered_at: datetime | None

    @property
    def retryable(self) -> bool:
        return self.status is DeliveryStatus.GIVEN_UP


def delivery_log(
    session: Session, endpoint_id: int | None = None, limit: int = LOG_LIMIT
) -> list[LogLine]:
    """The newest deliveries first, of one endpoint or of all."""
    query = select(WebhookDelivery, Lead.public_id).join(Lead, Lead.id == WebhookDelivery.lead_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [
        LogLine(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_type=d.event_type.value,
            event_id=d.event_id,
            lead_public_id=public_id,
            occurred_at=d.occurred_at,
            status=d.status,
            attempts=d.attempts,
            last_response_code=d.last_response_code,
            last_error=d.last_error,
            next_attempt_at=(
                d.next_attempt_at
                if d.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
                else None
            ),
            delivered_at=d.delivered_at,
        )
        for d, public_id in rows
    ]


def retry_now(session: Session, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Give a given-up delivery one more attempt, due now; if it fails it is given up again."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotRetryable(f"there is no webhook delivery {delivery_id}")
    if delivery.status is not DeliveryStatus.GIVEN_UP:
        raise NotRetryable(
            f"delivery {delivery_id} is {delivery.status.value}: only given-up ones are retried"
        )
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = now
    return delivery
