"""What staff may do to one lead: opt out of a channel, change the language they are written
to in, pause, resume, remove from a campaign.

Each function changes rows inside the caller's transaction and returns what it did,
so the console (or a CLI) can say so and audit it; none of them sends anything.
Booking a screening by hand is nurture.booking.service.book_slot, used as it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.models import Campaign
from nurture.channel import Channel
from nurture.consent.ledger import Evidence
from nurture.consent.opt_out import OptOut, Skip
from nurture.consent.opt_out import opt_out as revoke_consent
from nurture.languages import LANGUAGES, UnknownLanguage
from nurture.leads.models import Lead
from nurture.locations.directory import Locations, UnknownLocation
from nurture.replies.inbox import pause_sequences, resume_sequences
from nurture.sequences.ending import end_enrollments
from nurture.sequences.models import LIVE_ENROLLMENTS, Enrollment

REMOVED_REASON = "removed by staff"


def staff_source(staff_email: str) -> str:
    """The ledger's evidence source for a decision staff made: who made it."""
    return f"staff:{staff_email}"[:100]


def opt_out(
    session: Session, lead_id: int, channel: Channel, staff_email: str, now: datetime
) -> bool:
    """Revoke the lead's consent on `channel`; False when it was not in force anyway.

    The gate refuses the channel at send time from now on; the lead's waiting campaign
    messages on it are skipped at once too, so the page shows why they will not go.
    """
    request = OptOut(
        channel,
        Evidence(source=staff_source(staff_email)),
        Skip.CAMPAIGN,
        f"{channel.value} consent revoked by staff",
    )
    return bool(revoke_consent(session, [lead_id], request, now))


def set_language(session: Session, lead_id: int, language: str) -> bool:
    """Write to the lead in `language` from now on; False when it already was.

    UnknownLanguage, before anything is written, for a language we do not write in."""
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    lead = session.get_one(Lead, lead_id)
    if lead.language == language:
        return False
    lead.language = language
    return True


def move_to_location(session: Session, lead_id: int, slug: str) -> bool:
    """Make the lead a patient of location `slug` from now on (its sender, hours, slots);
    False when they already were. UnknownLocation, before anything is written, for a
    slug no location has. A booking already made stays where it was made."""
    place = Locations.load(session).by_slug(slug)
    if place is None:
        raise UnknownLocation(slug)
    lead = session.get_one(Lead, lead_id)
    if lead.location_id == place.id:
        return False
    lead.location_id = place.id
    return True


def pause(session: Session, lead_id: int) -> int:
    """Pause the lead's active sequences; returns how many were paused.

    Their written messages wait (the gate holds a paused sequence's steps).
    """
    return pause_sequences(session, lead_id)


def resume(session: Session, lead_id: int, now: datetime) -> int:
    """Resume the lead's paused sequences; returns how many (see resume_sequences)."""
    return resume_sequences(session, lead_id, now)


class NotEnrolled(LookupError):
    """The lead is not enrolled in that campaign."""


def remove_from_campaign(session: Session, lead_id: int, campaign_slug: str, now: datetime) -> bool:
    """End the lead's enrollment in the campaign; False when it had already ended.

    Its waiting messages are skipped with the reason, so nothing due is lost silently.
    """
    enrollment_id = session.scalars(
        select(Enrollment.id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Enrollment.lead_id == lead_id, Campaign.slug == campaign_slug)
        .with_for_update(of=Enrollment)
    ).one_or_none()
    if enrollment_id is None:
        raise NotEnrolled(f"the lead is not enrolled in {campaign_slug!r}")
    ended = end_enrollments(
        session,
        [Enrollment.id == enrollment_id, Enrollment.status.in_(LIVE_ENROLLMENTS)],
        REMOVED_REASON,
        now,
        # The gate's own words, for any message a worker had already claimed.
        message_reason=f"left the campaign: {REMOVED_REASON}",
    )
    return bool(ended.enrollments)
