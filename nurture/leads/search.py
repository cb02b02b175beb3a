"""Finding leads for staff: one filter, read from a form or the CLI, turned into SQL.

The list page, its count, the CSV export and `nurture leads export` all build their
query here, so "the leads this filter matches" means the same thing everywhere.

Engagement is what a lead did with the campaign steps we sent (those of the chosen
campaign, when one is): opened an email (SendGrid's report), clicked a link in an email
or a text (our short links count the clicks), or replied by text or email (a STOP is an
opt-out, not a reply; replies belong to the lead, not to one campaign).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from nurture.analytics.attribution import REPLIES
from nurture.booking.models import Booking, BookingStatus
from nurture.campaigns.models import Campaign
from nurture.channel import Channel
from nurture.clock import utcnow
from nurture.consent.ledger import consent_in_force, latest_action
from nurture.consent.models import ConsentAction
from nurture.deliverability.events import EventKind
from nurture.deliverability.models import ProviderEvent
from nurture.leads.models import Lead
from nurture.leads.submission import normalise_email
from nurture.leads.zone import lead_zone
from nurture.messages.models import Message, MessageKind
from nurture.messages.short_links import ShortLink
from nurture.replies.models import InboundMessage
from nurture.sequences.models import Enrollment, EnrollmentStatus

PER_PAGE = 50
# The form's field names; everything but `q` may travel in a URL.
FILTER_FIELDS = (
    "campaign",
    "status",
    "email_consent",
    "sms_consent",
    "booked",
    "signed_up_from",
    "signed_up_to",
    "opened",
    "clicked",
    "replied",
    "not_engaged_days",
    "variant",
)
YES_NO = {"yes": True, "no": False}
YES_NO_FIELDS = ("email_consent", "sms_consent", "booked", "opened", "clicked", "replied")
MAX_QUIET_DAYS = 3650  # ten years: longer than any lead has been with us
_WHOLE_NUMBER = re.compile(r"[0-9]{1,4}")
_VARIANT_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # as campaign files write variant keys
STATUSES = tuple(status.value for status in EnrollmentStatus)


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """What staff asked for; None (or "") means "any"."""

    q: str = ""
    campaign: str | None = None  # a campaign slug
    campaign_id: int | None = None
    status: EnrollmentStatus | None = None
    email_consent: bool | None = None
    sms_consent: bool | None = None
    booked: bool | None = None
    signed_up_from: date | None = None
    signed_up_to: date | None = None  # inclusive
    zone: ZoneInfo = field(default=ZoneInfo("UTC"))  # whose calendar the dates are in
    opened: bool | None = None  # opened an email of any step
    clicked: bool | None = None  # clicked a link in an email or a text of any step
    replied: bool | None = None
    not_engaged_days: int | None = None  # no open, click or reply in this many days
    variant: str | None = None  # sent a message of this A/B variant (nurture.campaigns.variants)
    now: datetime | None = None  # when the days count back from (None: the time of the query)

    def query_string(self, **extra: int) -> str:
        """The filters (never `q`: it is personal data) as a URL query string."""
        values: dict[str, str | int] = {}
        if self.campaign:
            values["campaign"] = self.campaign
        if self.status:
            values["status"] = self.status.value
        for name in ("email_consent", "sms_consent", "booked"):
            choice = getattr(self, name)
            if choice is not None:
                values[name] = "yes" if choice else "no"
        if self.signed_up_from:
            values["signed_up_from"] = self.signed_up_from.isoformat()
        if self.signed_up_to:
            values["signed_up_to"] = self.signed_up_to.isoformat()
        for name in ("opened", "clicked", "replied"):
            choice = getattr(self, name)
            if choice is not None:
                values[name] = "yes" if choice else "no"
        if self.not_engaged_days is not None:
            values["not_engaged_days"] = self.not_engaged_days
        if self.variant:
            values["variant"] = self.variant
        values.update(extra)
        return urlencode(values)


def _yes_no(name: str, value: str, problems: dict[str, str]) -> bool | None:
    if value == "":
        return None
    if value.lower() in YES_NO:
        return YES_NO[value.lower()]
    problems[name] = f"choose yes or no, not {value!r}"
    return None


def _date(name: str, value: str, problems: dict[str, str]) -> date | None:
    if value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems[name] = f"{value!r} is not a date (YYYY-MM-DD)"
        return None


def _days(name: str, value: str, problems: dict[str, str]) -> int | None:
    if value == "":
        return None
    # ASCII digits, at most four: str.isdigit() lets "²" through, which int() refuses.
    if _WHOLE_NUMBER.fullmatch(value) and 1 <= int(value) <= MAX_QUIET_DAYS:
        return int(value)
    problems[name] = f"a whole number of days from 1 to {MAX_QUIET_DAYS}, not {value!r}"
    return None


def _variant(value: str, problems: dict[str, str]) -> str | None:
    if value == "":
        return None
    if _VARIANT_KEY.fullmatch(value.lower()):
        return value.lower()
    problems["variant"] = f"a variant's key as the campaign file names it, not {value[:40]!r}"
    return None


def parse_filter(
    session: Session, values: Mapping[str, str], zone: ZoneInfo, now: datetime | None = None
) -> tuple[LeadFilter, dict[str, str]]:
    """The filter the form (or CLI) asked for, and what is wrong with each field it could not read.

    A field with a problem is left out of the filter; the others still apply. "Not
    engaged in N days" counts back from `now` (default: when the query runs).
    """
    problems: dict[str, str] = {}
    raw = {name: (values.get(name) or "").strip() for name in ("q", *FILTER_FIELDS)}
    campaign_id = None
    if raw["campaign"]:
        campaign_id = session.scalar(select(Campaign.id).where(Campaign.slug == raw["campaign"]))
        if campaign_id is None:
            problems["campaign"] = f"there is no campaign {raw['campaign']!r}"
    status = None
    if raw["status"]:
        if raw["status"].lower() in STATUSES:
            status = EnrollmentStatus(raw["status"].lower())
        else:
            problems["status"] = f"choose one of {', '.join(STATUSES)}, not {raw['status']!r}"
    start = _date("signed_up_from", raw["signed_up_from"], problems)
    end = _date("signed_up_to", raw["signed_up_to"], problems)
    if start and end and start > end:
        problems["signed_up_to"] = "must not be before the 'from' date"
        end = None
    choice = {name: _yes_no(name, raw[name], problems) for name in YES_NO_FIELDS}
    found = LeadFilter(
        q=raw["q"][:320],
        campaign=raw["campaign"] if campaign_id is not None else None,
        campaign_id=campaign_id,
        status=status,
        email_consent=choice["email_consent"],
        sms_consent=choice["sms_consent"],
        booked=choice["booked"],
        signed_up_from=start,
        signed_up_to=end,
        zone=zone,
        opened=choice["opened"],
        clicked=choice["clicked"],
        replied=choice["replied"],
        not_engaged_days=_days("not_engaged_days", raw["not_engaged_days"], problems),
        variant=_variant(raw["variant"], problems),
        now=now,
    )
    return found, problems


def _consent_in_force(channel: Channel) -> ColumnElement[str]:
    # latest_action is typed for one id; given the column it correlates to each lead row.
    return latest_action(Lead.id, channel)


def _search(q: str) -> ColumnElement[bool]:
    if "@" in q:
        try:
            # A whole address: the unique index finds it, however it was typed.
            return Lead.email == normalise_email(q)
        except ValueError:
            pass
    needle = q.lower()
    return or_(
        func.lower(Lead.first_name).contains(needle, autoescape=True),
        Lead.email.contains(needle, autoescape=True),  # stored lower-cased
        Lead.public_id == needle,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def conditions(wanted: LeadFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses on `leads` that select what `wanted` describes."""
    where: list[ColumnElement[bool]] = []
    if wanted.q:
        where.append(_search(wanted.q))
    if wanted.campaign_id is not None or wanted.status is not None:
        enrolled = exists().where(Enrollment.lead_id == Lead.id)
        if wanted.campaign_id is not None:
            enrolled = enrolled.where(Enrollment.campaign_id == wanted.campaign_id)
        if wanted.status is not None:
            enrolled = enrolled.where(Enrollment.status == wanted.status)
        where.append(enrolled)
    for channel, choice in (
        (Channel.EMAIL, wanted.email_consent),
        (Channel.SMS, wanted.sms_consent),
    ):
        if choice is not None:
            granted = func.coalesce(_consent_in_force(channel), "") == ConsentAction.GRANTED.value
            where.append(granted if choice else ~granted)
    if wanted.booked is not None:
        booked = exists().where(
            Booking.lead_id == Lead.id, Booking.status != BookingStatus.CANCELLED
        )
        where.append(booked if wanted.booked else ~booked)
    if wanted.signed_up_from:
        where.append(Lead.created_at >= _midnight(wanted.signed_up_from, wanted.zone))
    if wanted.signed_up_to:
        next_day = wanted.signed_up_to + timedelta(days=1)
        where.append(Lead.created_at < _midnight(next_day, wanted.zone))
    return where + _engagement(wanted)


def _steps_sent(wanted: LeadFilter) -> list[ColumnElement[bool]]:
    """The lead's campaign step messages (the chosen campaign's, when one is)."""
    steps = [Message.lead_id == Lead.id, Message.kind == MessageKind.CAMPAIGN]
    if wanted.campaign_id is not None:
        steps.append(Message.campaign_id == wanted.campaign_id)
    return steps


def _replied(*since: ColumnElement[bool]) -> ColumnElement[bool]:
    # The same rule as the Results page's replies: a STOP is an opt-out, not a reply.
    return exists().where(InboundMessage.lead_id == Lead.id, *REPLIES.counts, *since)


def _engagement(wanted: LeadFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses for the engagement filters (see the module docstring)."""
    where: list[ColumnElement[bool]] = []
    for choice, did in (
        (wanted.opened, exists().where(*_steps_sent(wanted), Message.opens > 0)),
        (wanted.clicked, exists().where(*_steps_sent(wanted), Message.clicks > 0)),
        (wanted.replied, _replied()),
    ):
        if choice is not None:
            where.append(did if choice else ~did)
    if wanted.not_engaged_days is not None:
        since = (wanted.now or utcnow()) - timedelta(days=wanted.not_engaged_days)
        # Each open and each SendGrid click is an event row with its time; a short link
        # keeps its latest click. A click SendGrid reported and the short link counted
        # is one click seen twice, the same moment: either finds it.
        reported = exists().where(
            *_steps_sent(wanted),
            ProviderEvent.message_id == Message.id,
            ProviderEvent.event_type.in_((EventKind.OPEN, EventKind.CLICK)),
            func.coalesce(ProviderEvent.occurred_at, ProviderEvent.received_at) >= since,
        )
        followed = exists().where(
            *_steps_sent(wanted),
            ShortLink.message_id == Message.id,
            ShortLink.last_clicked_at >= since,
        )
        where.extend([~reported, ~followed, ~_replied(InboundMessage.received_at >= since)])
    if wanted.variant is not None:
        where.append(exists().where(*_steps_sent(wanted), Message.variant == wanted.variant))
    return where


NEWEST_FIRST = (Lead.created_at.desc(), Lead.id.desc())  # the index on (created_at, id)


def count_matching(session: Session, wanted: LeadFilter) -> int:
    """How many leads the filter matches."""
    query = select(func.count()).select_from(Lead).where(*conditions(wanted))
    return session.scalar(query) or 0


@dataclass(frozen=True, slots=True)
class LeadSummary:
    """One lead as the list and the export show it."""

    public_id: str
    first_name: str
    email: str
    phone: str | None
    zone: ZoneInfo
    signed_up: datetime
    source: str
    campaigns: tuple[tuple[str, str], ...]  # (slug, enrollment status), oldest first
    email_consent: bool
    sms_consent: bool
    booked: bool


def _summary_columns() -> Select[*tuple[Any, ...]]:
    """A lead's own columns with its consent in force and whether it has an open booking."""
    booked = exists().where(Booking.lead_id == Lead.id, Booking.status != BookingStatus.CANCELLED)
    return select(
        Lead.id,
        Lead.public_id,
        Lead.first_name,
        Lead.email,
        Lead.phone,
        Lead.timezone,
        Lead.created_at,
        Lead.source,
        _consent_in_force(Channel.EMAIL).label("email_action"),
        _consent_in_force(Channel.SMS).label("sms_action"),
        booked.label("booked"),
    )


def _summaries(
    session: Session, rows: Sequence[Row[Any]], clinic_zone: ZoneInfo
) -> list[LeadSummary]:
    """Summaries of the rows from _summary_columns, in their order; one more query."""
    campaigns: dict[int, list[tuple[str, str]]] = {row.id: [] for row in rows}
    if campaigns:
        for lead_id, slug, status in session.execute(
            select(Enrollment.lead_id, Campaign.slug, Enrollment.status)
            .join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Enrollment.lead_id.in_(list(campaigns)))
            .order_by(Enrollment.enrolled_at, Enrollment.id)
        ):
            campaigns[lead_id].append((slug, status))
    summaries = []
    for row in rows:
        consent = consent_in_force(row.email_action, row.sms_action)
        summaries.append(
            LeadSummary(
                public_id=row.public_id,
                first_name=row.first_name,
                email=row.email,
                phone=row.phone,
                zone=lead_zone(row.timezone, row.phone, clinic_zone),
                signed_up=row.created_at,
                source=row.source,
                campaigns=tuple(campaigns[row.id]),
                email_consent=consent[Channel.EMAIL],
                sms_consent=consent[Channel.SMS],
                booked=bool(row.booked),
            )
        )
    return summaries


@dataclass(frozen=True, slots=True)
class LeadPage:
    """One page of matching leads, with the count the pager shows."""

    rows: list[LeadSummary]
    number: int
    pages: int
    total: int


def search_page(
    session: Session,
    wanted: LeadFilter,
    clinic_zone: ZoneInfo,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> LeadPage:
    """Page `page` (clamped to the pages there are) of the leads `wanted` matches."""
    total = count_matching(session, wanted)
    pages = max(1, -(-total // per_page))
    number = min(max(page, 1), pages)
    if total == 0:
        return LeadPage([], number, pages, total)  # no second walk through every lead
    # The page's ids first: an offset skips index entries, not per-lead look-ups.
    ids = list(
        session.scalars(
            select(Lead.id)
            .where(*conditions(wanted))
            .order_by(*NEWEST_FIRST)
            .offset((number - 1) * per_page)
            .limit(per_page)
        )
    )
    found = {row.id: row for row in session.execute(_summary_columns().where(Lead.id.in_(ids)))}
    rows = [found[lead_id] for lead_id in ids]
    return LeadPage(_summaries(session, rows, clinic_zone), number, pages, total)


def all_matching(
    session: Session, wanted: LeadFilter, clinic_zone: ZoneInfo, *, batch: int = 1000
) -> Iterator[LeadSummary]:
    """Every matching lead in list order, fetched a batch at a time (for exports)."""
    # Keyset paging on (created_at, id): each batch starts where the index left off,
    # and leads arriving meanwhile neither shift nor repeat rows.
    after: tuple[datetime, int] | None = None
    while True:
        query = _summary_columns().where(*conditions(wanted))
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(Lead.created_at < created, (Lead.created_at == created) & (Lead.id < last_id))
            )
        rows = session.execute(query.order_by(*NEWEST_FIRST).limit(batch)).all()
        if not rows:
            return
        yield from _summaries(session, rows, clinic_zone)
        after = (rows[-1].created_at, rows[-1].id)
