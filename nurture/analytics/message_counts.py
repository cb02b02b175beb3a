"""Counting a campaign's messages for its results: per step, per lead, and bounces.

The per-step and per-lead counts read only columns that ix_messages_campaign_enrollment
holds (its key and INCLUDE list), so on PostgreSQL each is one index-only scan over the
campaign's messages in enrollment order: no visit to the table, no sort, no hash of
every lead. Keep it that way when adding a column here, or the scan reads the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, ScalarSelect, Select, Subquery, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from nurture.consent.models import Channel
from nurture.deliverability.events import EventKind
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message, MessageStatus

AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class Scope:
    """The messages counted: the campaign's steps sent to leads enrolled in the period."""

    campaign_id: int
    cohort: Subquery  # one row per enrollment: id, lead_id, enrolled_at
    bounded: bool  # whether the period limits enrolment dates at all

    def messages(self, query: AnySelect) -> AnySelect:
        """`query` restricted to the scope's messages."""
        query = query.where(
            Message.campaign_id == self.campaign_id, Message.enrollment_id.is_not(None)
        )
        # Without dates every enrollment counts: the join would only cost time.
        return (
            query.join(self.cohort, Message.enrollment_id == self.cohort.c.id)
            if self.bounded
            else query
        )


@dataclass(frozen=True, slots=True)
class StepCounts:
    key: str
    channel: str
    sent: int
    delivered: int
    opened: int
    clicked: int


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def step_counts(session: Session, scope: Scope) -> list[StepCounts]:
    """Each (step, channel)'s messages: sent, delivered, opened and clicked; by step key."""
    query = scope.messages(
        select(
            Message.step_key,
            Message.channel,
            func.count(Message.sent_at),
            _count_if(Message.status == MessageStatus.DELIVERED),
            _count_if(Message.opens > 0),
            _count_if(Message.clicks > 0),
        )
        .group_by(Message.step_key, Message.channel)
        .order_by(Message.step_key, Message.channel)
    )
    return [
        StepCounts(key, channel, int(sent), int(delivered), int(opened), int(clicked))
        for key, channel, sent, delivered, opened, clicked in session.execute(query)
    ]


def bounces_by_step(session: Session, scope: Scope) -> dict[tuple[str, str], int]:
    """Messages with a (not ignored) bounce event, by (step key, channel).

    Driven from the bounce events, which are few: each looks its message up by id.
    """
    bounced = (
        select(ProviderEvent.message_id)
        .where(ProviderEvent.event_type == EventKind.BOUNCE, ProviderEvent.ignored.is_(None))
        .distinct()
        .subquery("bounced")
    )
    in_scope: list[ColumnElement[bool]] = [
        Message.id == bounced.c.message_id,
        Message.campaign_id == scope.campaign_id,
        Message.enrollment_id.is_not(None),
    ]
    if scope.bounded:
        in_scope.append(Message.enrollment_id.in_(select(scope.cohort.c.id)))

    # A correlated lookup per bounce by primary key: as a join, Postgres would rather
    # read every message of the campaign and match each against the bounces.
    def looked_up(column: InstrumentedAttribute[str]) -> ScalarSelect[str]:
        return select(column).where(*in_scope).correlate(bounced).scalar_subquery()

    per_bounce = (
        select(
            looked_up(Message.step_key).label("step_key"),
            looked_up(Message.channel).label("channel"),
        )
        .select_from(bounced)
        .subquery("bounced_message")
    )
    query = (
        select(per_bounce.c.step_key, per_bounce.c.channel, func.count())
        .where(per_bounce.c.step_key.is_not(None))
        .group_by(per_bounce.c.step_key, per_bounce.c.channel)
    )
    return {(key, channel): int(count) for key, channel, count in session.execute(query)}


def email_engagement(session: Session, scope: Scope) -> tuple[int, int, int]:
    """Leads emailed, leads who opened one of those emails, leads who clicked in one."""
    per_lead = (
        scope.messages(
            select(
                Message.enrollment_id,
                func.max(case((Message.opens > 0, 1), else_=0)).label("opened"),
                func.max(case((Message.clicks > 0, 1), else_=0)).label("clicked"),
            )
        )
        .where(Message.channel == Channel.EMAIL, Message.sent_at.is_not(None))
        .group_by(Message.enrollment_id)
        .subquery("emailed")
    )
    emailed, opened, clicked = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(per_lead.c.opened), 0),
            func.coalesce(func.sum(per_lead.c.clicked), 0),
        ).select_from(per_lead)
    ).one()
    return int(emailed), int(opened), int(clicked)
