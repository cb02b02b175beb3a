"""Console pages: the lead list (search, filters, CSV export), one lead, and staff actions.

Filters travel in the query string; the search text is personal data (a name, an
address), so a search is a POST whose results page is rendered directly, and its
pager and export buttons post the search again instead of linking to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import RedirectResponse, Response, StreamingResponse

from nurture.booking.display import when
from nurture.booking.service import BookingClosed, book_slot
from nurture.booking.slots import SlotUnavailable, open_slots
from nurture.campaigns.models import Campaign
from nurture.channel import Channel
from nurture.clock import parse_moment
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.policy import SendingPolicy
from nurture.languages import NAMES, UnknownLanguage
from nurture.leads import actions
from nurture.leads.admin import (
    LeadNotFound,
    bookings,
    consent_history,
    lead_by_public_id,
    lead_timelines,
    replies,
)
from nurture.leads.export import csv_chunks
from nurture.leads.models import Lead
from nurture.leads.search import (
    FILTER_FIELDS,
    STATUSES,
    LeadFilter,
    all_matching,
    parse_filter,
    search_page,
)
from nurture.leads.zone import lead_zone
from nurture.locations.directory import Locations, UnknownLocation
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import LeadsUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, get_session_factory

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
SLOTS_OFFERED = 30
CHANNEL_WORDS = {Channel.EMAIL: "email", Channel.SMS: "text messages"}
# The filter form's labels, for naming a field that could not be read.
LABELS = {
    "campaign": "Campaign",
    "status": "Sequence",
    "email_consent": "Email consent",
    "sms_consent": "SMS consent",
    "booked": "Booked",
    "signed_up_from": "Signed up from",
    "signed_up_to": "Signed up to",
    "opened": "Opened an email",
    "clicked": "Clicked a link",
    "replied": "Replied",
    "not_engaged_days": "Not engaged in (days)",
    "variant": "A/B variant",
}


class PublicIdConvertor(Convertor[str]):
    """A lead's public id in a path, so /admin/leads/import and export.csv are not leads."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("public_id", PublicIdConvertor())
LEAD = "/leads/{public_id:public_id}"


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """'Mon 2 Nov 2026 09:00 CST', or a dash when there is no time."""
    if moment is None:
        return "–"
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


@dataclass(frozen=True, slots=True)
class Pager:
    """What the shared pager macro needs: links that keep the filters (never `q`)."""

    number: int
    pages: int
    total: int
    wanted: LeadFilter

    def url(self, number: int) -> str:
        """The list page `number` with the same filters."""
        return f"/admin/leads?{self.wanted.query_string(page=number)}"


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


def _list_page(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    values: Mapping[str, str],
    now: datetime,
    status_code: int = 200,
) -> Response:
    wanted, problems = parse_filter(session, values, settings.clinic_zone, now)
    found = search_page(
        session, wanted, settings.clinic_zone, page=_page_number(values.get("page"))
    )
    context: dict[str, Any] = {
        "form": {name: values.get(name, "") for name in ("q", *FILTER_FIELDS)},
        "problems": [f"{LABELS[name]}: {problem}" for name, problem in problems.items()],
        "found": found,
        "pager": Pager(found.number, found.pages, found.total, wanted),
        "wanted": wanted,
        "campaigns": [
            (slug, name)
            for slug, name in session.execute(
                select(Campaign.slug, Campaign.name).order_by(Campaign.slug)
            )
        ],
        "statuses": [(status, status) for status in STATUSES],
        "local_time": local_time,
    }
    code = 422 if problems else status_code
    return admin_page(request, user, "leads/list.html", context, code, section="leads")


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.get("/leads")
def leads_list(
    request: Request, user: LeadsUser, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    """The lead list, filtered by the query string (which never holds a search text)."""
    values = dict(request.query_params)
    values.pop("q", None)  # a search typed into a URL by hand is not honoured: use the form
    return _list_page(request, user, session, settings, values, clock.now())


@router.post("/leads")
async def leads_search(
    request: Request, user: LeadsUser, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    """The filter form: with search text the results come back directly, else as a GET."""
    values = await _form_values(request)
    if not values.get("q", "").strip():
        wanted, problems = parse_filter(session, values, settings.clinic_zone)
        if not problems:
            return RedirectResponse(f"/admin/leads?{wanted.query_string()}", status_code=303)
    return _list_page(request, user, session, settings, values, clock.now())


@dataclass(frozen=True, slots=True)
class LeadsExport:
    """What both export routes need, gathered once by FastAPI: who asks, and how to read."""

    request: Request
    user: StaffUser
    session: Session
    settings: Settings
    factory: sessionmaker[Session]
    now: datetime

    def download(self, values: Mapping[str, str]) -> Response:
        """The leads `values` filter for, as a streamed CSV (or the list page with the
        filter's problems)."""
        request, user, session, settings = self.request, self.user, self.session, self.settings
        wanted, problems = parse_filter(session, values, settings.clinic_zone, self.now)
        if problems:
            return _list_page(request, user, session, settings, values, self.now)
        # Exporting personal data is worth a line in the audit log, with the filters only.
        detail = {"filters": wanted.query_string(), "search": bool(wanted.q)}
        record_audit(session, actor(request, user), "lead.exported", self.now, "leads", detail)
        session.commit()

        def lines() -> Iterator[str]:
            # The request's session closes before a streamed body is sent: use our own.
            with self.factory() as export_session:
                yield from csv_chunks(all_matching(export_session, wanted, settings.clinic_zone))

        filename = f"leads-{self.now.astimezone(settings.clinic_zone):%Y-%m-%d}.csv"
        headers = {
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


def leads_export_request(
    request: Request,
    user: LeadsUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> LeadsExport:
    return LeadsExport(request, user, session, settings, factory, clock.now())


Export = Annotated[LeadsExport, Depends(leads_export_request)]


@router.get("/leads/export.csv")
def leads_export(export: Export) -> Response:
    """The filtered list as CSV (every page), streamed."""
    values = dict(export.request.query_params)
    values.pop("q", None)
    return export.download(values)


@router.post("/leads/export.csv")
async def leads_export_search(export: Export) -> Response:
    """The searched list as CSV: the search text comes in the body, not the URL."""
    return export.download(await _form_values(export.request))


def _lead(session: Session, public_id: str) -> Lead:
    try:
        return lead_by_public_id(session, public_id)
    except LeadNotFound:
        raise HTTPException(status_code=404) from None


def _lead_page(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    now: datetime,
    lead: Lead,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    # The lead's clinic: its zone, and its times to book them into.
    locations = Locations.load(session)
    settings = locations.settings(settings, lead.location_id)
    zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
    statuses = session.scalars(select(Enrollment.status).where(Enrollment.lead_id == lead.id))
    running = set(statuses)
    context: dict[str, Any] = {
        "lead": lead,
        "zone": zone,
        "clinic_zone": settings.clinic_zone,
        "consent": current_consent(session, lead.id),
        "ledger": consent_history(session, lead.id),
        "timelines": lead_timelines(
            session, lead, settings.clinic_zone, SendingPolicy.from_settings(settings)
        ),
        "replies": replies(session, lead.id),
        "bookings": bookings(session, lead.id),
        "slots": [
            (slot.starts_at.isoformat(), when(slot.starts_at, settings.clinic_zone).full)
            for slot in open_slots(
                session, settings, now=now, limit=SLOTS_OFFERED, location_id=lead.location_id
            )
        ],
        "location": locations.get(lead.location_id).label(settings),
        "other_locations": [
            (place.slug, place.label(settings))
            for place in locations
            if place.id != locations.get(lead.location_id).id
        ],
        "can_pause": EnrollmentStatus.ACTIVE in running,
        "language_names": NAMES,
        "can_resume": EnrollmentStatus.PAUSED in running,
        "problems": problems or [],
        "local_time": local_time,
    }
    return admin_page(request, user, "leads/lead.html", context, status_code, section="leads")


@dataclass(frozen=True, slots=True)
class LeadRequest:
    """One request about one lead: who asks, the lead, and the ways to answer."""

    request: Request
    user: StaffUser
    session: Session
    settings: Settings
    now: datetime
    lead: Lead

    async def field(self, name: str) -> str:
        """One text field of the posted form, or an empty string."""
        return (await _form_values(self.request)).get(name, "")

    def page(self, problem: str | None = None, status_code: int = 200) -> Response:
        """The lead's page, with `problem` shown above it when an action was refused."""
        problems = [problem] if problem else None
        return _lead_page(
            self.request,
            self.user,
            self.session,
            self.settings,
            self.now,
            self.lead,
            problems,
            status_code,
        )

    def unchanged(self, notice: str) -> Response:
        """Back to the lead's page saying why nothing changed."""
        return redirect_with_notice(self.request, f"/admin/leads/{self.lead.public_id}", notice)

    def done(self, action: str, detail: dict[str, Any], notice: str) -> Response:
        """Audit `action` on the lead, commit, and go back to its page saying what happened."""
        who = actor(self.request, self.user)
        record_audit(self.session, who, action, self.now, self.lead.public_id, detail)
        self.session.commit()
        return self.unchanged(notice)


def _lead_request(
    request: Request,
    public_id: str,
    user: LeadsUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> LeadRequest:
    # The guard (user) is resolved before the lookup, so a refused visitor never learns
    # whether a lead exists.
    return LeadRequest(request, user, session, settings, clock.now(), _lead(session, public_id))


ThisLead = Annotated[LeadRequest, Depends(_lead_request)]


@router.get(LEAD)
def lead_detail(here: ThisLead) -> Response:
    """One lead: contact, consent ledger, messages, replies, bookings, and the actions."""
    return here.page()


@router.post(LEAD + "/opt-out")
async def lead_opt_out(here: ThisLead) -> Response:
    """Revoke the lead's consent on one channel, recorded in the ledger as staff's decision."""
    choice = await here.field("channel")
    if choice not in (Channel.EMAIL.value, Channel.SMS.value):
        return here.page(f"channel: choose email or sms, not {choice!r}", 422)
    channel = Channel(choice)
    words = CHANNEL_WORDS[channel]
    if not actions.opt_out(here.session, here.lead.id, channel, here.user.email, here.now):
        return here.unchanged(f"Nothing changed: there was no {words} consent in force.")
    notice = f"Opted out of {words}; their waiting {words} will not go out."
    return here.done("lead.opted_out", {"channel": channel.value}, notice)


@router.post(LEAD + "/language")
async def lead_language(here: ThisLead) -> Response:
    """Write to the lead in another language from the next message on."""
    choice = await here.field("language")
    try:
        changed = actions.set_language(here.session, here.lead.id, choice)
    except UnknownLanguage as exc:
        return here.page(f"language: {exc}", 422)
    if not changed:
        return here.unchanged(
            f"Nothing changed: the lead is already written to in {NAMES[choice]}."
        )
    return here.done("lead.language", {"language": choice}, f"Now written to in {NAMES[choice]}.")


@router.post(LEAD + "/location")
async def lead_location(here: ThisLead) -> Response:
    """Make the lead a patient of another location: its number, hours and times."""
    choice = (await here.field("location")).strip().lower()
    try:
        changed = actions.move_to_location(here.session, here.lead.id, choice)
    except UnknownLocation as exc:
        return here.page(f"location: {exc}", 422)
    if not changed:
        return here.unchanged("Nothing changed: the lead already belongs to that location.")
    notice = "Moved; their next messages, times and bookings are that location's."
    return here.done("lead.location", {"location": choice}, notice)


@router.post(LEAD + "/pause")
def lead_pause(here: ThisLead) -> Response:
    """Pause the lead's running sequences: their messages wait until resumed."""
    count = actions.pause(here.session, here.lead.id)
    if not count:
        return here.unchanged("Nothing to pause: no sequence is running.")
    return here.done("lead.paused", {"sequences": count}, f"Paused {count} sequence(s).")


@router.post(LEAD + "/resume")
def lead_resume(here: ThisLead) -> Response:
    """Resume the lead's paused sequences where they stopped."""
    count = actions.resume(here.session, here.lead.id, here.now)
    if not count:
        return here.unchanged("Nothing to resume: no sequence is paused.")
    return here.done("lead.resumed", {"sequences": count}, f"Resumed {count} sequence(s).")


@router.post(LEAD + "/book")
async def lead_book(here: ThisLead) -> Response:
    """Book a free screening slot for the lead; their confirmation is queued."""
    starts_at = parse_moment(await here.field("starts_at"))
    if starts_at is None:
        return here.page("screening time: choose one of the listed times", 422)
    zone = here.settings.clinic_zone
    try:
        booking = book_slot(
            here.session, here.settings, here.lead.id, starts_at, source="staff", now=here.now
        )
    except (SlotUnavailable, BookingClosed) as exc:
        here.session.rollback()
        reason = exc.reason if isinstance(exc, SlotUnavailable) else str(exc)
        chosen_time = when(starts_at, zone).full
        return here.page(f"screening time: {chosen_time} cannot be booked ({reason})", 409)
    booked = when(booking.starts_at or starts_at, zone).full
    notice = f"Screening booked for {booked}; the confirmation is queued."
    return here.done("lead.booked", {"starts_at": starts_at.isoformat()}, notice)


@router.post(LEAD + "/remove")
async def lead_remove(here: ThisLead) -> Response:
    """End the lead's enrollment in one campaign; its waiting messages are skipped."""
    slug = await here.field("campaign")
    try:
        removed = actions.remove_from_campaign(here.session, here.lead.id, slug, here.now)
    except actions.NotEnrolled as exc:
        return here.page(f"campaign: {exc}", 422)
    if not removed:
        return here.unchanged(f"Nothing changed: the {slug} sequence had already ended.")
    notice = f"Removed from {slug}; its waiting messages were skipped."
    return here.done("lead.removed", {"campaign": slug}, notice)
