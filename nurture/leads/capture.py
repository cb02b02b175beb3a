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
from nurture.consent.ledger import Evidence, grant
from nurture.consent.policy import SendingPolicy
from nurture.languages import DEFAULT_LANGUAGE
from nurture.leads.articles import load_article
from nurture.leads.models import Lead
from nurture.leads.submission import LeadSubmission
from nurture.leads.zone import lead_zone
from nurture.sequences.enroll import enroll

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
    if lead is None:
        lead = Lead(
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
    return lead, False


def capture_lead(
    session: Session,
    submission: LeadSubmission,
    evidence: Evidence,
    now: datetime,
    settings: Settings,
) -> CaptureResult:
    """Store the lead and its consent, and enrol it in the article's campaign once.

    A campaign with double opt-in records the email consent only when the person
    confirms their address (unless it is confirmed already): until then the enrollment
    waits and one confirmation email goes out.
    """
    article = load_article(settings.templates_dir, submission.article)
    lead, created = upsert_lead(session, submission, f"article:{article.slug}", now)
    try:
        target: CampaignTarget | None = active_campaign(session, article.campaign)
    except CampaignRefused:
        target = None
    confirm_first = (
        target is not None
        and target.definition.spec.double_opt_in
        and submission.consent.email
        and needs_confirmation(session, lead)
    )
    if submission.consent.email and not confirm_first:
        grant(session, lead.id, Channel.EMAIL, evidence, now, settings.clinic_name)
    if submission.consent.sms:
        grant(session, lead.id, Channel.SMS, evidence, now, settings.clinic_name)
    if target is None:
        return CaptureResult(lead.id, lead.public_id, created, enrolled=False)
    policy = SendingPolicy.from_settings(settings)
    enrolled = enrol_lead(session, lead, target, now, settings, policy, confirm_first)
    if confirm_first:
        queue_confirmation(session, settings, lead, article, target.slug, now)
    return CaptureResult(lead.id, lead.public_id, created, enrolled, confirm_first)


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
