"""Prometheus metrics, computed when scraped: the outbox from the database, the provider
and webhook counters from the shared counter store (nurture.telemetry.counters)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from importlib.metadata import version

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.clock import Clock, utcnow
from nurture.health.heartbeat import read_all
from nurture.messages.models import WAITING_STATUSES, Message
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.telemetry.counters import (
    LATENCY_BUCKETS,
    PROVIDER_REQUESTS,
    PROVIDER_SECONDS,
    REFUSALS,
    CounterStore,
)


def oldest_due(session: Session, now: datetime) -> datetime | None:
    """The due time of the oldest work that should have gone out by now and has not:
    a due step not yet written, a queued message, a held message whose hold ended."""
    active = select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE)
    candidates = (
        select(func.min(Enrollment.next_due_at)).where(
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.next_due_at <= now,
            Enrollment.campaign_id.in_(active),
        ),
        select(func.min(Message.due_at)).where(
            Message.status.in_(WAITING_STATUSES),
            Message.due_at <= now,
            (Message.campaign_id.is_(None)) | Message.campaign_id.in_(active),
        ),
    )
    found = [moment for query in candidates if (moment := session.scalar(query)) is not None]
    return min(found) if found else None


def _labels(field: str) -> list[str]:
    return field.split("|")


class NurtureCollector(Collector):
    """Reads the outbox and the shared counters each time Prometheus scrapes."""

    def __init__(
        self, factory: sessionmaker[Session], clock: Clock, counters: CounterStore, scale: float
    ) -> None:
        self.factory, self.clock, self.counters, self.scale = factory, clock, counters, scale

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._provider_calls()
        refusals = CounterMetricFamily(
            "nurture_refusals",
            "Posts refused (webhooks, lead capture), by route and reason",
            labels=["route", "reason"],
        )
        for field, value in sorted(self.counters.read(REFUSALS).items()):
            refusals.add_metric(_labels(field), value)
        yield refusals
        info = GaugeMetricFamily("nurture_build_info", "The running version", labels=["version"])
        info.add_metric([version("nurture")], 1)
        yield info

    def _outbox(self) -> Iterator[Metric]:
        now = self.clock.now()
        with self.factory() as session:
            counts = session.execute(
                select(Message.status, Message.channel, func.count()).group_by(
                    Message.status, Message.channel
                )
            ).all()
            oldest = oldest_due(session, now)
            heartbeats = read_all(session)
        messages = GaugeMetricFamily(
            "nurture_messages", "Outbox rows by status and channel", labels=["status", "channel"]
        )
        for status, channel, count in counts:
            messages.add_metric([status, channel], count)
        yield messages
        # Real seconds, also when the campaign clock runs faster than the wall.
        lag = (now - oldest).total_seconds() / self.scale if oldest else 0.0
        yield GaugeMetricFamily(
            "nurture_dispatch_lag_seconds",
            "How long the oldest due message has waited to be handed off",
            value=max(lag, 0.0),
        )
        ages = GaugeMetricFamily(
            "nurture_heartbeat_age_seconds",
            "Seconds since each process was last seen",
            labels=["process"],
        )
        wall = utcnow()
        for name, at in sorted(heartbeats.items()):
            ages.add_metric([name], max((wall - at).total_seconds(), 0.0))
        yield ages

    def _provider_calls(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "nurture_provider_requests",
            "Hand-offs to a provider by outcome",
            labels=["provider", "channel", "outcome"],
        )
        for field, value in sorted(self.counters.read(PROVIDER_REQUESTS).items()):
            requests.add_metric(_labels(field), value)
        yield requests
        latency = HistogramMetricFamily(
            "nurture_provider_request_seconds",
            "Provider hand-off latency",
            labels=["provider", "channel"],
        )
        by_sender: dict[tuple[str, str], dict[str, float]] = {}
        for field, value in self.counters.read(PROVIDER_SECONDS).items():
            provider, channel, key = _labels(field)
            by_sender.setdefault((provider, channel), {})[key] = value
        for (provider, channel), values in sorted(by_sender.items()):
            running, buckets = 0.0, []
            for bound in [*(f"{b:g}" for b in LATENCY_BUCKETS), "+Inf"]:
                running += values.get(bound, 0.0)
                buckets.append((bound, running))
            latency.add_metric([provider, channel], buckets, sum_value=values.get("sum", 0.0))
        yield latency


def exposition(collector: NurtureCollector) -> bytes:
    """The metrics in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
