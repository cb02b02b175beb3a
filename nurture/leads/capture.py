"""Capture a prospect: the lead, the consent evidence and the enrollment, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.confirmation import needs_confirmation, queue_confirmation
from nurture.consent.ledger import Evidence, current_consent, grant
from nurture.consent.policy import SendingPolicy
from nurture.languages import DEFAULT_LANGUAGE
from nurture.leads.articles import Article, load_article
from nurture.leads.models import Lead
from nurture.leads.submission import LeadSubmission
from nurture.leads.zone import lead_zone
from nurture.locations.directory import Locations, Place, UnknownLocation
from nurture.sequences.enroll import enroll
from nurture.webhooks_out.events import emit
from nurture.webhooks_out.models import EventType

log = logging.getLogger(__name__)


class CampaignRefused(ValueError):
    """The campaign does not exist or is not taking leads."""


@dataclass(frozen=True, slots=True)
class CampaignTarget:
    """An active campaign's current version, loaded once (an import enrols many leads in it)."""

    slug: str
    campaign_id: int
    version_id: int
    definition: CampaignDefinition


def active_campaign(session: Session, slug: str) -> CampaignTarget:
    """The campaign a lead can be enrolled in now, or CampaignRefused saying why not."""
    campaign = session.scalars(select(Campaign).where(Campaign.slug == slug)).one_or_none()
    if campaign is None:
        raise CampaignRefused(f"there is no campaign {slug!r}")
    if campaign.status != CampaignStatus.ACTIVE or campaign.current_version_id is None:
        raise CampaignRefused(
            f"campaign {slug!r} is {campaign.status}; only active campaigns take new leads"
        )
    version = campaign.current_version_id
    return CampaignTarget(slug, campaign.id, version, load_version(session, version))


def enrol_lead(
    session: Session,
    lead: Lead,
    target: CampaignTarget,
    now: datetime,
    settings: Settings,
    policy: SendingPolicy,
    confirm_first: bool = False,
) -> bool:
    """Enrol the lead in the campaign's current version; False when it was enrolled already.

    With `confirm_first` the enrollment waits for the double opt-in click.
    """
    _, created = enroll(
        session,
        lead_id=lead.id,
        campaign_id=target.campaign_id,
        version_id=target.version_id,
        definition=target.definition,
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        now=now,
        policy=policy,
        phone=lead.phone,
        confirm_first=confirm_first,
    )
    return created


def article_campaign(
    session: Session, article: Article, language: str, consent: dict[Channel, bool]
) -> CampaignTarget | None:
    """The campaign that follows the article for this lead: the first of its campaigns
    that is active and whose audience the lead is in; None when none is.

    The first match only, so a lead never gets two welcome sequences at once: a campaign
    for everyone belongs last, after the narrower ones.
    """
    for slug in article.campaigns or (article.campaign,):
        try:
            target = active_campaign(session, slug)
        except CampaignRefused:
            continue
        audience = target.definition.spec.audience
        if audience is None or audience.matches(language, consent):
            return target
    return None


@dataclass(frozen=True, slots=True)
class CaptureResult:
    lead_id: int
    lead_public_id: str
    created: bool
    enrolled: bool  # False when already enrolled, or the campaign is not active
    confirmation_sent: bool = False  # double opt-in: the sequence waits for the click


def upsert_lead(
    session: Session, submission: LeadSubmission, source: str, now: datetime
) -> tuple[Lead, bool]:
    """The lead for this email, created or refreshed with the newest details given."""
    lead = session.scalars(select(Lead).where(Lead.email == submission.email)).one_or_none()
    chosen = choose_location(session, submission)
    if lead is None:
        lead = Lead(
            location_id=(chosen or nearest_location(session, submission)).id,
            email=submission.email,
            first_name=submission.first_name,
            phone=submission.phone,
            timezone=submission.timezone,
            language=submission.language or DEFAULT_LANGUAGE,
            source=source,
            created_at=now,
        )
        session.add(lead)
        session.flush()
        return lead, True
    lead.first_name = submission.first_name
    lead.phone = submission.phone or lead.phone
    lead.timezone = submission.timezone or lead.timezone
    lead.language = submission.language or lead.language
    # A known lead keeps their clinic (staff may have moved them) unless they chose one.
    if chosen is not None:
        lead.location_id = chosen.id
    return lead, False


def choose_location(session: Session, submission: LeadSubmission) -> Place | None:
    """The location the lead chose by its slug; UnknownLocation if no location has it."""
    if submission.location is None:
        return None
    place = Locations.load(session).by_slug(submission.location)
    if place is None:
        raise UnknownLocation(submission.location)
    return place


def nearest_location(session: Session, submission: LeadSubmission) -> Place:
    """The location serving the lead's ZIP code or phone's area code, else the default."""
    return Locations.load(session).nearest(zip_code=submission.zip_code, phone=submission.phone)


def capture_lead(
    session: Session,
    submission: LeadSubmission,
    evidence: Evidence,
    now: datetime,
    settings: Settings,
) -> CaptureResult:
    """Store the lead and its consent, and enrol it in the article's campaign once
    (the first active one whose audience the lead is in, when the article names several).

    A campaign with double opt-in records the email consent only when the person
    confirms their address (unless it is confirmed already): until then the enrollment
    waits and one confirmation email goes out. The lead.captured webhook is owed in the
    same transaction.
    """
    # In the form's language: the confirmation email names the article the person read.
    article = load_article(settings.templates_dir, submission.article, submission.language)
    lead, created = upsert_lead(session, submission, f"article:{article.slug}", now)
    # The consent this person gives now or gave before decides an audience by consent.
    given = current_consent(session, lead.id)
    given[Channel.EMAIL] |= submission.consent.email
    given[Channel.SMS] |= submission.consent.sms
    target = article_campaign(session, article, lead.language, given)
    confirm_first = (
        target is not None
        and target.definition.spec.double_opt_in
        and submission.consent.email
        and needs_confirmation(session, lead)
    )
    # The wording the person read: the form's language (the lead's may be older).
    shown = submission.language or DEFAULT_LANGUAGE
    if submission.consent.email and not confirm_first:
        grant(session, lead.id, Channel.EMAIL, evidence, now, settings.clinic_name, shown)
    if submission.consent.sms:
        grant(session, lead.id, Channel.SMS, evidence, now, settings.clinic_name, shown)
    if target is None:
        result = CaptureResult(lead.id, lead.public_id, created, enrolled=False)
    else:
        policy = SendingPolicy.from_settings(settings)
        enrolled = enrol_lead(session, lead, target, now, settings, policy, confirm_first)
        if confirm_first:
            queue_confirmation(session, settings, lead, article, target.slug, now)
        result = CaptureResult(lead.id, lead.public_id, created, enrolled, confirm_first)
    announce_capture(session, result, submission, evidence.source, now)
    return result


def announce_capture(
    session: Session,
    result: CaptureResult,
    submission: LeadSubmission,
    source: str,
    now: datetime,
) -> None:
    """The lead.captured webhook, in the capture's own transaction.

    Every door that takes a lead in calls this once per lead: the form, the API and
    `nurture leads add` through capture_lead, a CSV import once per row it keeps.
    """
    details = {
        "capture": {
            "source": source,  # the consent evidence's: "form:<article>", "csv-import:<file>"…
            "article": submission.article or None,  # an import answers no article request
            "new_lead": result.created,
            "enrolled": result.enrolled,
            "consent": {"email": submission.consent.email, "sms": submission.consent.sms},
        }
    }
    emit(session, EventType.CAPTURED, result.lead_id, now, details)


def record_download(
    session: Session,
    submission: LeadSubmission,
    evidence: Evidence,
    now: datetime,
    settings: Settings,
) -> CaptureResult:
    """Store the lead, its consent and its enrollment, committed together."""
    try:
        with session.begin():
            result = capture_lead(session, submission, evidence, now, settings)
    except IntegrityError:
        # A double-clicked button sends two requests for one new email at once, and
        # the slower insert hits the unique index. The winner's row exists now, so a
        # second attempt finds it and records this request's consent against it.
        with session.begin():
            result = capture_lead(session, submission, evidence, now, settings)
    log.info(
        "lead %s captured via %s (new=%s, enrolled=%s)",
        result.lead_public_id,
        evidence.source,
        result.created,
        result.enrolled,
    )
    return result
