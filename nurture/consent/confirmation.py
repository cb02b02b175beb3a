"""Double opt-in: a campaign that asks for it sends a new address one email with a link,
and records email consent, and starts the sequence, only when that link is clicked.

The form's own evidence (wording, IP, browser) is what the person agreed to; the click
is recorded as the confirmation, with the click's IP and browser, as the ledger's grant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.wording import render_notice_email
from nurture.campaigns.models import Campaign
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import Evidence, current_consent, grant
from nurture.consent.policy import SendingPolicy
from nurture.leads.articles import Article
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.links import InvalidToken, confirm_url, read_token
from nurture.messages.transactional import EmailContent, Notice, queue_notice
from nurture.sequences.enroll import start
from nurture.sequences.models import Enrollment, EnrollmentStatus

NOTICE = "confirm-email"


def needs_confirmation(session: Session, lead: Lead) -> bool:
    """Whether this lead's email consent has still to be confirmed (none in force yet)."""
    return not current_consent(session, lead.id)[Channel.EMAIL]


def queue_confirmation(
    session: Session,
    settings: Settings,
    lead: Lead,
    article: Article,
    campaign_slug: str,
    now: datetime,
) -> None:
    """The email with the confirmation link; at most one a day, however often they sign up."""
    variables = {
        "first_name": lead.first_name,
        "article_title": article.title,
        "confirm_url": confirm_url(settings, lead.public_id, campaign_slug, article.slug),
        "clinic": {
            "name": settings.clinic_name,
            "address": settings.clinic_address,
            "phone": settings.clinic_phone,
        },
    }
    rendered = render_notice_email(
        settings.templates_dir, "confirm", variables, folder="consent", language=lead.language
    )
    queue_notice(
        session,
        Notice(lead.id, NOTICE, f"{NOTICE}:{lead.id}:{campaign_slug}:{now:%Y-%m-%d}", now),
        EmailContent(rendered.subject, rendered.text, rendered.html),
        now,
    )


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a confirmation link names, and whether this click started the sequence."""

    lead: Lead
    campaign: Campaign
    article: str  # the slug of the article the person asked for
    started: bool = False


def read_confirmation(session: Session, settings: Settings, token: str) -> Confirmation:
    """The lead, campaign and article a confirmation link names, or InvalidToken."""
    payload = read_token(settings, "confirm", token)
    lead = session.scalar(select(Lead).where(Lead.public_id == payload.get("lead", "")))
    campaign = session.scalar(select(Campaign).where(Campaign.slug == payload.get("campaign", "")))
    if lead is None or campaign is None:
        raise InvalidToken("this link is no longer valid")
    return Confirmation(lead, campaign, payload.get("article", ""))


def confirm(
    session: Session, settings: Settings, token: str, evidence: Evidence, now: datetime
) -> Confirmation:
    """Record the confirmed consent and start the waiting sequence (a second click: nothing)."""
    link = read_confirmation(session, settings, token)
    lead, campaign = link.lead, link.campaign
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.lead_id == lead.id, Enrollment.campaign_id == campaign.id
        )
    )
    waiting = enrollment is not None and enrollment.status == EnrollmentStatus.UNCONFIRMED
    if needs_confirmation(session, lead):
        # The form they signed was in their language (it set it).
        grant(session, lead.id, Channel.EMAIL, evidence, now, settings.clinic_name, lead.language)
    if enrollment is not None and waiting:
        definition = load_version(session, enrollment.campaign_version_id)
        zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
        policy = SendingPolicy.from_settings(settings)
        start(enrollment, definition, zone, now, policy, lead.phone)
    return replace(link, started=waiting)
