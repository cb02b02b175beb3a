"""Console pages: the campaign list, a campaign's steps and status, versions, export/import
and the dry-run timeline. The step editor lives in campaign_editor.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import Response

from nurture.campaigns.archive import MAX_ARCHIVE_BYTES
from nurture.campaigns.conditions import OPENS_NOTHING, Behaviour, behaviours, parse_behaviour
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.exchange import export_zip
from nurture.campaigns.importing import ImportRefused, import_zip
from nurture.campaigns.lifecycle import (
    StatusChangeRefused,
    UnknownCampaign,
    allowed_moves,
    change_status,
    enrollments_archive_would_end,
    find_campaign,
)
from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion
from nurture.campaigns.overview import (
    campaign_rows,
    enrollments_per_version,
    step_rows,
    version_rows,
)
from nurture.campaigns.sample_variants import (
    ShownVariant,
    parse_picks,
    read_variant,
    shown_variants,
)
from nurture.campaigns.sync import load_version
from nurture.clock import in_calendar
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.leads.zone import valid_zone
from nurture.sequences.dispatch import promoted_winners
from nurture.sequences.timing import plan_steps
from nurture.staff.models import StaffUser
from nurture.text import counted, local_time
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import CampaignsUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])

SECTION = "campaigns"
US_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
START_FORMAT = "%Y-%m-%dT%H:%M"
NO_CAMPAIGN = "No campaign has that name."
STATUS_DONE = {
    CampaignStatus.ACTIVE: "activated",
    CampaignStatus.PAUSED: "paused",
    CampaignStatus.ARCHIVED: "archived",
}


def _campaign(session: Session, slug: str) -> Campaign:
    try:
        return find_campaign(session, slug)
    except UnknownCampaign:
        raise HTTPException(404, NO_CAMPAIGN) from None


def _current(session: Session, campaign: Campaign) -> CampaignDefinition | None:
    if campaign.current_version_id is None:
        return None
    return load_version(session, campaign.current_version_id)


@router.get("/campaigns")
def campaign_list(request: Request, user: CampaignsUser, session: SessionDep) -> Response:
    """Every campaign with its status, version and headline numbers."""
    return admin_page(
        request, user, "campaigns/list.html", {"rows": campaign_rows(session)}, section=SECTION
    )


def _import_page(
    request: Request, user: StaffUser, problems: list[str], status_code: int = 200
) -> Response:
    context = {"problems": problems, "max_mb": MAX_ARCHIVE_BYTES // 2**20}
    return admin_page(request, user, "campaigns/import.html", context, status_code, section=SECTION)


# Declared before /campaigns/{slug} so "import" is not read as a slug.
@router.get("/campaigns/import")
def import_form(request: Request, user: CampaignsUser) -> Response:
    """The upload form for a campaign zip."""
    return _import_page(request, user, [])


@router.post("/campaigns/import")
def import_upload(
    request: Request,
    user: CampaignsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    archive: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check the uploaded zip as `sync` would; store a new campaign (draft) or version."""
    if archive is None or not archive.filename:
        return _import_page(request, user, ["archive: choose a campaign .zip file"], 400)
    data = archive.file.read(MAX_ARCHIVE_BYTES + 1)
    try:
        imported = import_zip(session, data, settings, actor(request, user), clock.now())
    except ImportRefused as exc:
        session.rollback()
        return _import_page(request, user, exc.problems, 400)
    session.commit()
    notice = imported.summary()
    if imported.warnings:
        notice += " Warnings: " + "; ".join(f"{w.where}: {w.message}" for w in imported.warnings)
    return redirect_with_notice(request, f"/admin/campaigns/{imported.slug}", notice)


@router.get("/campaigns/{slug}")
def campaign_page(
    request: Request, slug: str, user: CampaignsUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """The campaign's steps as a timeline, its status and what staff may do with it."""
    campaign = _campaign(session, slug)
    definition = _current(session, campaign)
    context: dict[str, Any] = {
        "campaign": campaign,
        "definition": definition,
        "steps": step_rows(definition, settings) if definition else [],
        "moves": [move.value for move in allowed_moves(campaign.status)],
        "would_end": enrollments_archive_would_end(session, campaign.id),
        "version": session.get(CampaignVersion, campaign.current_version_id or 0),
        "on_version": enrollments_per_version(session, campaign.id).get(
            campaign.current_version_id or 0, 0
        ),
    }
    return admin_page(request, user, "campaigns/campaign.html", context, section=SECTION)


def _move(
    request: Request,
    slug: str,
    target: CampaignStatus,
    user: StaffUser,
    session: Session,
    now: datetime,
) -> Response:
    try:
        change = change_status(session, slug, target, actor(request, user), now)
    except UnknownCampaign:
        raise HTTPException(404, NO_CAMPAIGN) from None
    except StatusChangeRefused as exc:
        session.rollback()
        return redirect_with_notice(request, f"/admin/campaigns/{slug}", f"Not changed: {exc}.")
    session.commit()
    notice = f"Campaign {STATUS_DONE[target]}."
    if target is CampaignStatus.ARCHIVED:
        notice += (
            f" {counted(change.enrollments_ended, 'enrollment')} ended and "
            f"{counted(change.messages_skipped, 'waiting message')} skipped."
        )
    return redirect_with_notice(request, f"/admin/campaigns/{slug}", notice)


@router.post("/campaigns/{slug}/activate")
def activate(
    request: Request, slug: str, user: CampaignsUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Start (or resume) sending and enrolling."""
    return _move(request, slug, CampaignStatus.ACTIVE, user, session, clock.now())


@router.post("/campaigns/{slug}/pause")
def pause(
    request: Request, slug: str, user: CampaignsUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Stop sending and enrolling; every waiting message waits until it is resumed."""
    return _move(request, slug, CampaignStatus.PAUSED, user, session, clock.now())


@router.post("/campaigns/{slug}/archive")
def archive(
    request: Request, slug: str, user: CampaignsUser, session: SessionDep, clock: ClockDep
) -> Response:
    """End the campaign for good: its enrollments end and waiting messages are skipped."""
    return _move(request, slug, CampaignStatus.ARCHIVED, user, session, clock.now())


@router.get("/campaigns/{slug}/versions")
def versions_page(
    request: Request, slug: str, user: CampaignsUser, session: SessionDep
) -> Response:
    """Every version, the enrollments on each, and what each one changed."""
    campaign = _campaign(session, slug)
    context = {"campaign": campaign, "versions": version_rows(session, campaign)}
    return admin_page(request, user, "campaigns/versions.html", context, section=SECTION)


@router.get("/campaigns/{slug}/export")
def export(slug: str, user: CampaignsUser, session: SessionDep) -> Response:
    """The current version as a zip of the campaign folder (campaign.yaml and templates)."""
    definition = _current(session, _campaign(session, slug))
    if definition is None:
        raise HTTPException(404, "This campaign has no version to export.")
    return Response(
        export_zip(definition),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}.zip"',
            "Cache-Control": "no-store",
        },
    )


def _zone_choices(settings: Settings, chosen: str) -> list[str]:
    zones = list(US_ZONES)
    for extra in (settings.clinic_timezone, chosen):
        if extra and extra not in zones and valid_zone(extra) is not None:
            zones.append(extra)
    return zones


@dataclass(frozen=True, slots=True)
class DryRun:
    """The lead the dry run follows: when and where they sign up, what they do with
    their messages, and the A/B arms to show (by step key)."""

    start: datetime
    zone: ZoneInfo
    sms: bool
    behaviour: Behaviour
    arms: dict[str, ShownVariant]


def _dry_run_rows(
    definition: CampaignDefinition, run: DryRun, settings: Settings
) -> list[dict[str, Any]]:
    rows = []
    start, zone = run.start, run.zone
    policy = SendingPolicy.from_settings(settings)
    plan = plan_steps(
        definition.spec,
        start,
        zone,
        policy,
        phone=None,
        sms_consent=run.sms,
        behaviour=run.behaviour,
    )
    for planned in plan:
        arm = run.arms.get(planned.step.key)
        rows.append(
            {
                "day": planned.day(start, zone),
                "key": planned.step.key,
                "channel": planned.step.medium,
                "when": local_time(planned.due, zone),
                "moved": planned.moved_note(zone) or "",
                "skipped": planned.skipped,
                "branch": planned.branch,
                "variant": arm,
                # The arm as the sample lead would read it, through the editor's preview.
                "reads": read_variant(definition, planned.step, arm.key, settings) if arm else None,
            }
        )
    return rows


def _variant_choices(
    definition: CampaignDefinition | None, picks: dict[str, str], winners: dict[str, str]
) -> list[dict[str, Any]]:
    """One choice per A/B tested step: its arms, the sample lead's own, and the one picked."""
    if definition is None:
        return []
    own = shown_variants(definition.spec, {}, winners)
    return [
        {"step": key, "own": arm, "arms": arm.keys, "picked": picks.get(key, "")}
        for key, arm in own.items()
    ]


@router.get("/campaigns/{slug}/timeline")
def timeline(
    request: Request,
    slug: str,
    user: CampaignsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    start: str | None = None,
    zone: str | None = None,
    sms: str | None = None,
    behaviour: str | None = None,
    variant: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """When each step would reach a sample lead who signs up at `start` in `zone`, on
    the path the lead's `behaviour` takes through the campaign's branches, and which arm
    of each A/B test it gets (or the `variant` picked, as STEP=VARIANT, to read)."""
    campaign = _campaign(session, slug)
    definition = _current(session, campaign)
    zone_name = zone or settings.clinic_timezone
    # A first visit (no start yet) assumes SMS consent; a submitted form says so itself.
    has_sms = sms is not None if start is not None else True
    problems: dict[str, str] = {}  # by field, shown beside it
    lead_zone = valid_zone(zone_name)
    if lead_zone is None:
        problems["zone"] = f"Time zone: {zone_name!r} is not a time zone, e.g. America/Chicago"
    shown_zone = lead_zone or settings.clinic_zone
    shown = start if start is not None else f"{clock.now().astimezone(shown_zone):{START_FORMAT}}"
    try:
        # Read on the lead's own clock; planned from UTC, as the dispatcher does.
        typed = datetime.strptime(shown.strip(), START_FORMAT).replace(tzinfo=shown_zone)
    except ValueError:
        typed = None
    signs_up = in_calendar(typed) if typed else None
    if signs_up is None:
        problems["start"] = f"Start: {shown!r} is not a date and time like 2026-11-02T09:00"
    does = OPENS_NOTHING
    choices = behaviours(definition.spec) if definition is not None else [OPENS_NOTHING]
    if behaviour is not None and definition is not None:
        try:
            does = parse_behaviour(behaviour, definition.spec)
        except ValueError as exc:
            problems["behaviour"] = f"Lead's behaviour: {exc}"
    picks: dict[str, str] = {}
    if variant and definition is not None:
        try:
            picks = parse_picks(variant, definition.spec)
        except ValueError as exc:
            problems["variant"] = f"A/B variant: {exc}"
    # The dispatcher writes a promoted winner for every lead: so does the dry run.
    winners = {key: won for (_, key), won in promoted_winners(session, {campaign.id}).items()}
    rows: list[dict[str, Any]] = []
    if not problems and definition is not None and signs_up is not None:
        arms = shown_variants(definition.spec, picks, winners)
        run = DryRun(signs_up, shown_zone, has_sms, does, arms)
        rows = _dry_run_rows(definition, run, settings)
    context = {
        "campaign": campaign,
        "rows": rows,
        "problems": problems,
        "start": shown,
        "zone": zone_name,
        "zones": _zone_choices(settings, zone_name),
        "sms": has_sms,
        "behaviour": behaviour if behaviour is not None else does.label,
        "behaviours": [choice.label for choice in choices],
        "variant_choices": _variant_choices(definition, picks, winners),
    }
    status_code = 400 if problems else 200
    return admin_page(
        request, user, "campaigns/timeline.html", context, status_code, section=SECTION
    )
