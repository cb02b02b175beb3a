"""Counting a campaign's messages for its results: per step, per lead, and bounces.

Each function returns a query, grouped by the hour its leads enrolled in
(nurture.analytics.cohort), which nurture.analytics.tally combines: the live numbers
for a period and the rollup's rows come from these same queries. The per-step and
per-lead counts read only columns that ix_messages_campaign_enrollment holds (its
key and INCLUDE list), so on PostgreSQL they can be read from that index alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, ScalarSelect, Select, Subquery, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from nurture.channel import Channel
from nurture.deliverability.events import EventKind
from nurture.deliverability.models import ProviderEvent
from nurture.messages.models import Message, MessageStatus

AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class Scope:
    """The messages counted: the campaign's steps sent to the leads of a cohort."""

    campaign_id: int
    cohort: Subquery  # one row per enrollment: id, lead_id, enrolled_at, enrolled_hour

    def messages(self, query: AnySelect) -> AnySelect:
        """`query` restricted to the scope's messages, with the cohort joined for its hour."""
        return query.join(self.cohort, Message.enrollment_id == self.cohort.c.id).where(
            Message.campaign_id == self.campaign_id
        )


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def step_counts(scope: Scope) -> Select[Any]:
    """Per (enrolled_hour, step_key, channel): messages sent, delivered, opened, clicked."""
    hour = scope.cohort.c.enrolled_hour
    return scope.messages(
        select(
            hour.label("enrolled_hour"),
            Message.step_key,
            Message.channel,
            func.count(Message.sent_at).label("sent"),
            _count_if(Message.status == MessageStatus.DELIVERED).label("delivered"),
            _count_if(Message.opens > 0).label("opened"),
            _count_if(Message.clicks > 0).label("clicked"),
        ).group_by(hour, Message.step_key, Message.channel)
    )


def bounces_by_step(scope: Scope) -> Select[Any]:
    """Per (enrolled_hour, step_key, channel): messages with a (not ignored) bounce event.

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
    ]

    # A correlated lookup per bounce by primary key: as a join, Postgres would rather
    # read every message of the campaign and match each against the bounces.
    def looked_up(column: InstrumentedAttribute[Any]) -> ScalarSelect[Any]:
        return select(column).where(*in_scope).correlate(bounced).scalar_subquery()

    per_bounce = (
        select(
            looked_up(Message.enrollment_id).label("enrollment_id"),
            looked_up(Message.step_key).label("step_key"),
            looked_up(Message.channel).label("channel"),
        )
        .select_from(bounced)
        .subquery("bounced_message")
    )
    hour = scope.cohort.c.enrolled_hour
    return (
        select(
            hour.label("enrolled_hour"),
            per_bounce.c.step_key,
            per_bounce.c.channel,
            func.count().label("bounces"),
        )
        .join(scope.cohort, scope.cohort.c.id == per_bounce.c.enrollment_id)
        .group_by(hour, per_bounce.c.step_key, per_bounce.c.channel)
    )


def lead_engagement(scope: Scope) -> Select[Any]:
    """Per enrolled_hour: leads emailed, those who opened one of the emails, and those
    who clicked a link in one of the emails or texts.

    A text's links are our short links, which count its clicks as SendGrid's events count
    an email's, so a lead who only ever tapped a link in a text has clicked too.
    """
    email = Message.channel == Channel.EMAIL
    per_lead = (
        scope.messages(
            select(
                scope.cohort.c.enrolled_hour,
                func.max(case((email, 1), else_=0)).label("emailed"),
                func.max(case((email & (Message.opens > 0), 1), else_=0)).label("opened"),
                func.max(case((Message.clicks > 0, 1), else_=0)).label("clicked"),
            )
        )
        .where(Message.sent_at.is_not(None))
        .group_by(Message.enrollment_id, scope.cohort.c.enrolled_hour)
        .subquery("reached")
    )
    return select(
        per_lead.c.enrolled_hour,
        func.coalesce(func.sum(per_lead.c.emailed), 0).label("emailed"),
        func.coalesce(func.sum(per_lead.c.opened), 0).label("opened"),
        func.coalesce(func.sum(per_lead.c.clicked), 0).label("clicked"),
    ).group_by(per_lead.c.enrolled_hour)
