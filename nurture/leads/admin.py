"""Staff look-ups of leads: lists, one lead's consent ledger, and its message timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking
from nurture.campaigns.models import Campaign
from nurture.campaigns.sync import load_version
from nurture.consent.models import ConsentEvent
from nurture.consent.policy import SendingPolicy
from nurture.leads.models import Lead
from nurture.leads.submission import normalise_email
from nurture.leads.zone import lead_zone
from nurture.messages.models import Message
from nurture.replies.models import InboundMessage, InboxItem
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.timing import step_due


class LeadNotFound(LookupError):
    """No lead has that email address (or public id)."""


def mask_email(email: str) -> str:
    """'dana@example.com' -> 'd***@example.com': enough to recognise, not to copy."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def find_lead(session: Session, email: str) -> Lead:
    """The lead with this address (normalised as the form does), or LeadNotFound."""
    try:
        address = normalise_email(email)
    except ValueError as exc:
        raise LeadNotFound(f"{email!r} is not an email address: {exc}") from exc
    lead = session.scalars(select(Lead).where(Lead.email == address)).one_or_none()
    if lead is None:
        raise LeadNotFound(f"no lead with the email address {address}")
    return lead


def lead_by_public_id(session: Session, public_id: str) -> Lead:
    """The lead with this public id (the one console URLs carry), or LeadNotFound."""
    lead = session.scalars(select(Lead).where(Lead.public_id == public_id)).one_or_none()
    if lead is None:
        raise LeadNotFound(f"no lead with the id {public_id}")
    return lead


@dataclass(frozen=True, slots=True)
class LeadRow:
    public_id: str
    first_name: str
    masked_email: str
    status: str
    next_step: str | None
    next_due: datetime | None
    created_at: datetime
    zone: ZoneInfo  # the lead's, for showing the times above


def lead_page(
    session: Session, clinic_zone: ZoneInfo, *, page: int, per_page: int
) -> tuple[list[LeadRow], int]:
    """One page of leads, newest first, and the total number of leads."""
    total = session.scalar(select(func.count(Lead.id))) or 0
    leads = list(
        session.scalars(
            select(Lead)
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    enrollments: dict[int, Enrollment] = {}
    for found in session.scalars(
        select(Enrollment)
        .where(Enrollment.lead_id.in_([lead.id for lead in leads]))
        .order_by(Enrollment.enrolled_at)
    ):
        enrollments[found.lead_id] = found  # the newest one wins
    rows = []
    for lead in leads:
        enrollment = enrollments.get(lead.id)
        zone = lead_zone(lead.timezone, lead.phone, clinic_zone)
        rows.append(
            LeadRow(
                public_id=lead.public_id,
                first_name=lead.first_name,
                masked_email=mask_email(lead.email),
                status=enrollment.status if enrollment else "not enrolled",
                next_step=enrollment.next_step_key if enrollment else None,
                next_due=enrollment.next_due_at if enrollment else None,
                created_at=lead.created_at,
                zone=zone,
            )
        )
    return rows, total


def consent_history(session: Session, lead_id: int) -> list[ConsentEvent]:
    """Every consent grant and revocation for the lead, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent).where(ConsentEvent.lead_id == lead_id).order_by(ConsentEvent.id)
        )
    )


def bookings(session: Session, lead_id: int) -> list[Booking]:
    """The lead's screening bookings, oldest first."""
    return list(
        session.scalars(select(Booking).where(Booking.lead_id == lead_id).order_by(Booking.id))
    )


def replies(session: Session, lead_id: int) -> list[tuple[InboundMessage, InboxItem | None]]:
    """Everything the lead wrote to us, oldest first, each with its inbox item if any."""
    return [
        (message, item)
        for message, item in session.execute(
            select(InboundMessage, InboxItem)
            .outerjoin(InboxItem, InboxItem.id == InboundMessage.inbox_item_id)
            .where(InboundMessage.lead_id == lead_id)
            .order_by(InboundMessage.received_at, InboundMessage.id)
        )
    ]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    day: int  # days since enrollment, by the lead's calendar
    at: datetime  # sent, or due, in the lead's zone
    step_key: str
    channel: str
    status: str
    text: str | None  # the subject or SMS text as rendered, when it was rendered
    reason: str | None
    written: bool  # False: no message row exists (not due yet, or the sequence ended first)
    # What the email provider reported since (nurture.deliverability writes these).
    delivered_at: datetime | None = None
    opens: int = 0
    clicks: int = 0
    variant: str | None = None  # the A/B variant it was written from, on a tested step


@dataclass(frozen=True, slots=True)
class CampaignTimeline:
    campaign_slug: str
    zone: ZoneInfo
    enrolled_at: datetime
    status: str
    end_reason: str | None
    entries: list[TimelineEntry]


def _day(moment: datetime, start: datetime, zone: ZoneInfo) -> int:
    return (moment.astimezone(zone).date() - start.astimezone(zone).date()).days


def lead_timelines(
    session: Session, lead: Lead, clinic_zone: ZoneInfo, policy: SendingPolicy
) -> list[CampaignTimeline]:
    """Each of the lead's campaigns, step by step, as the database records it.

    Steps without a message row are shown too: still pending (when the dispatcher
    will write them, by the same maths), or never sent because the sequence ended.
    """
    zone = lead_zone(lead.timezone, lead.phone, clinic_zone)
    timelines = []
    enrollments = session.scalars(
        select(Enrollment).where(Enrollment.lead_id == lead.id).order_by(Enrollment.enrolled_at)
    )
    for enrollment in enrollments:
        definition = load_version(session, enrollment.campaign_version_id)
        messages = {
            m.step_key: m
            for m in session.scalars(select(Message).where(Message.enrollment_id == enrollment.id))
        }
        entries = []
        for step in definition.spec.steps:
            message = messages.get(step.key)
            if message is not None:
                at = message.sent_at or message.due_at
                entries.append(
                    TimelineEntry(
                        day=_day(at, enrollment.enrolled_at, zone),
                        at=at.astimezone(zone),
                        step_key=step.key,
                        # A call-back is made by phone: "call", not the "sms" it is filed under.
                        channel=step.medium if step.task else message.channel,
                        status=message.status,
                        text=message.summary,
                        reason=message.reason,
                        written=True,
                        delivered_at=message.delivered_at,
                        opens=message.opens,
                        clicks=message.clicks,
                        variant=message.variant,
                    )
                )
                continue
            at = step_due(enrollment.enrolled_at, step, zone, policy, lead.phone)
            ended = enrollment.status == EnrollmentStatus.EXITED
            entries.append(
                TimelineEntry(
                    day=_day(at, enrollment.enrolled_at, zone),
                    at=at.astimezone(zone),
                    step_key=step.key,
                    channel=step.medium,
                    status="skipped" if ended else "pending",
                    text=None,
                    reason=f"sequence ended: {enrollment.end_reason}" if ended else None,
                    written=False,
                )
            )
        slug = session.get_one(Campaign, enrollment.campaign_id).slug
        timelines.append(
            CampaignTimeline(
                campaign_slug=slug,
                zone=zone,
                enrolled_at=enrollment.enrolled_at.astimezone(zone),
                status=enrollment.status,
                end_reason=enrollment.end_reason,
                entries=entries,
            )
        )
    return timelines
