"""An A/B subject test with a clear winner, for the results page and promotion tests.

A campaign of its own ("subject-test-demo": the seeded campaign under another slug,
promoting after DEMO_MIN_SAMPLE sent per variant) so it changes no other campaign's
numbers. Its leads reached the anatomy-link step; each message is written from the
variant the dispatcher would choose for that lead (nurture.campaigns.variants), and
in each variant every tenth message is opened and clicked in the pattern below:
"nerve-path" gets three clicks in ten, "anatomy" one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign
from nurture.campaigns.sync import sync_campaign
from nurture.campaigns.variants import assign_variant
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus

DEMO_SLUG = "subject-test-demo"
TESTED_STEP = "anatomy-link"
DEMO_MIN_SAMPLE = 30
# Out of every ten messages of the variant: how many were clicked (and opened).
CLICKS_IN_TEN = {"anatomy": 1, "nerve-path": 3}


def demo_definition(seeded: CampaignDefinition, min_sample: int) -> CampaignDefinition:
    """The seeded campaign as a campaign of its own, promoting after `min_sample`."""
    data = seeded.to_json()
    spec = data["spec"]
    spec.update(slug=DEMO_SLUG, name="Subject test (demo)", article=None)
    for step in spec["steps"]:
        if step["key"] == TESTED_STEP:
            step["promote"]["min_sample"] = min_sample
    return CampaignDefinition.from_json(data)


def seed_subject_test(
    session: Session,
    seeded: CampaignDefinition,
    leads: int,
    now: datetime,
    min_sample: int = DEMO_MIN_SAMPLE,
) -> dict[str, int]:
    """The demo campaign with `leads` leads whose anatomy-link email went out; returns
    how many messages each variant got."""
    definition = demo_definition(seeded, min_sample)
    synced = sync_campaign(session, definition, now)
    campaign = session.get(Campaign, synced.campaign_id)
    assert campaign is not None and campaign.current_version_id is not None
    step = definition.spec.step(TESTED_STEP)
    sent = now - timedelta(days=1)
    seen: dict[str, int] = {}
    for number in range(leads):
        lead = Lead(
            email=f"ab-demo-{number}@example.com",
            first_name=f"Demo{number}",
            source="test:ab-demo",
            created_at=now - timedelta(days=5),
        )
        session.add(lead)
        session.flush()
        enrollment = Enrollment(
            lead_id=lead.id,
            campaign_id=synced.campaign_id,
            campaign_version_id=campaign.current_version_id,
            status=EnrollmentStatus.ACTIVE,
            next_step_key="sms-tip-nudge",
            next_due_at=now + timedelta(days=1),
            enrolled_at=now - timedelta(days=5),
        )
        session.add(enrollment)
        session.flush()
        variant = assign_variant(step, lead.public_id, DEMO_SLUG)
        assert variant is not None
        nth = seen[variant] = seen.get(variant, 0) + 1
        clicked = nth % 10 < CLICKS_IN_TEN[variant]
        session.add(
            Message(
                enrollment_id=enrollment.id,
                lead_id=lead.id,
                campaign_id=synced.campaign_id,
                step_key=TESTED_STEP,
                channel=step.channel,
                variant=variant,
                status=MessageStatus.DELIVERED,
                due_at=sent,
                handed_off_at=sent,
                sent_at=sent,
                delivered_at=sent,
                opens=1 if clicked else 0,
                clicks=1 if clicked else 0,
                created_at=sent,
                updated_at=sent,
            )
        )
    session.flush()
    return seen


def enroll_at_tested_step(session: Session, leads: int, now: datetime) -> list[int]:
    """New leads of the demo campaign whose anatomy-link step is due now; their lead ids."""
    campaign = session.scalars(select(Campaign).where(Campaign.slug == DEMO_SLUG)).one()
    assert campaign.current_version_id is not None
    ids = []
    for number in range(leads):
        lead = Lead(
            email=f"ab-late-{number}@example.com",
            first_name=f"Late{number}",
            source="test:ab-demo",
            created_at=now,
        )
        session.add(lead)
        session.flush()
        session.add(
            Enrollment(
                lead_id=lead.id,
                campaign_id=campaign.id,
                campaign_version_id=campaign.current_version_id,
                status=EnrollmentStatus.ACTIVE,
                next_step_key=TESTED_STEP,
                next_due_at=now,
                enrolled_at=now - timedelta(days=4),
            )
        )
        ids.append(lead.id)
    session.flush()
    return ids


def demo_id(session: Session) -> int:
    """The demo campaign's id."""
    found = session.scalar(select(Campaign.id).where(Campaign.slug == DEMO_SLUG))
    assert isinstance(found, int)
    return found
