"""A throw-away PostgreSQL database filled with leads, consent and enrollments in bulk."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition, load_campaign_dir
from nurture.campaigns.models import Campaign as CampaignRow
from nurture.campaigns.sync import sync_campaign
from nurture.channel import Channel
from nurture.clock import utcnow
from nurture.config import get_settings
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.consent.wording import WORDING
from nurture.db import make_engine
from nurture.leads.models import Lead, new_public_id
from nurture.migrate import upgrade
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.support import REPO

CAMPAIGN_DIR = REPO / "templates" / "campaigns" / "hamstring-sciatica"


def create_database(admin_url: str) -> str:
    """A new, migrated database next to `admin_url`'s; returns its URL."""
    name = f"nurture_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database at `url`, closing whatever still uses it."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Cohort:
    """A contiguous range of lead ids, each with one enrollment in the campaign."""

    name: str
    first_lead_id: int
    last_lead_id: int

    @property
    def size(self) -> int:
        return self.last_lead_id - self.first_lead_id + 1


@dataclass(frozen=True)
class Campaign:
    id: int
    version_id: int
    definition: CampaignDefinition

    @property
    def first_step(self) -> str:
        return self.definition.spec.steps[0].key


def sync_seeded_campaign(engine: Engine) -> Campaign:
    """The seeded campaign, whose first step is an email due at sign-up."""
    definition = load_campaign_dir(CAMPAIGN_DIR)
    with Session(engine) as session, session.begin():
        result = sync_campaign(session, definition, utcnow())
        version_id = session.scalar(
            select(CampaignRow.current_version_id).where(CampaignRow.id == result.campaign_id)
        )
    assert version_id is not None
    return Campaign(result.campaign_id, version_id, definition)


def add_cohort(engine: Engine, campaign: Campaign, name: str, size: int) -> Cohort:
    """`size` email-consenting leads enrolled in `campaign`, not yet due."""
    now = utcnow()
    wording, clinic = WORDING[Channel.EMAIL], get_settings().clinic_name
    with Session(engine) as session, session.begin():
        lead_ids = list(
            session.scalars(
                insert(Lead).returning(Lead.id, sort_by_parameter_order=True),
                [
                    {
                        "public_id": new_public_id(),
                        "email": f"{name}-{number:05d}@bench.example",
                        "first_name": f"Lead{number}",
                        "phone": None,
                        "timezone": "America/Chicago",
                        "source": "bench",
                        "created_at": now,
                    }
                    for number in range(size)
                ],
            )
        )
        session.execute(
            insert(ConsentEvent),
            [
                {
                    "lead_id": lead_id,
                    "channel": Channel.EMAIL.value,
                    "action": ConsentAction.GRANTED.value,
                    "wording_version": wording.version,
                    "wording": wording.text(clinic),
                    "source": "bench",
                    "occurred_at": now,
                }
                for lead_id in lead_ids
            ],
        )
        session.execute(
            insert(Enrollment),
            [
                {
                    "lead_id": lead_id,
                    "campaign_id": campaign.id,
                    "campaign_version_id": campaign.version_id,
                    "status": EnrollmentStatus.ACTIVE.value,
                    "next_step_key": campaign.first_step,
                    # Not due: the dispatcher leaves the cohort alone until `make_due`.
                    "next_due_at": None,
                    "enrolled_at": now,
                }
                for lead_id in lead_ids
            ],
        )
    return Cohort(name, min(lead_ids), max(lead_ids))


def make_due(engine: Engine, cohort: Cohort, now: datetime) -> None:
    """Every enrollment of the cohort becomes due at once."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(Enrollment)
            .where(Enrollment.lead_id.between(cohort.first_lead_id, cohort.last_lead_id))
            .values(next_due_at=now, enrolled_at=now)
        )


def add_background(engine: Engine, campaign: Campaign, size: int) -> None:
    """`size` more leads, each enrolled (due in a month) with one email already sent:
    the history a clinic group's database carries, which the hot path must not pay for.

    Written by PostgreSQL itself from generate_series: a million rows in seconds.
    """
    now = utcnow()
    params = {"size": size, "now": now, "campaign": campaign.id, "version": campaign.version_id}
    statements = (
        """
        INSERT INTO leads (public_id, email, first_name, phone, timezone, source, created_at)
        SELECT md5('bg' || n), 'bg-' || n || '@bench.example', 'Lead' || n, NULL,
               'America/Chicago', 'bench-background', :now
        FROM generate_series(1, :size) AS n
        """,
        """
        INSERT INTO consent_events (lead_id, channel, action, source, occurred_at)
        SELECT id, 'email', 'granted', 'bench', :now FROM leads
        WHERE source = 'bench-background'
        """,
        """
        INSERT INTO enrollments (lead_id, campaign_id, campaign_version_id, status,
                                 next_step_key, next_due_at, enrolled_at)
        SELECT id, :campaign, :version, 'active', :second, :now + interval '30 days', :now
        FROM leads WHERE source = 'bench-background'
        """,
        """
        INSERT INTO messages (ref, kind, enrollment_id, lead_id, campaign_id, step_key,
                              channel, status, due_at, enqueued_at, handed_off_at, sent_at,
                              attempts, provider_id, opens, clicks, deferrals,
                              created_at, updated_at)
        SELECT md5('bgm' || e.id), 'campaign', e.id, e.lead_id, e.campaign_id, :first,
               'email', 'sent', :now, :now, :now, :now, 1, 'bg' || e.id, 0, 0, 0, :now, :now
        FROM enrollments e JOIN leads l ON l.id = e.lead_id
        WHERE l.source = 'bench-background'
        """,
    )
    steps = campaign.definition.spec.steps
    with Session(engine) as session, session.begin():
        for statement in statements:
            session.execute(
                text(statement), {**params, "first": steps[0].key, "second": steps[1].key}
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def spread_due(engine: Engine, cohort: Cohort, start: datetime, per_second: int) -> None:
    """The cohort falls due `per_second` at a time, evenly, from `start` on."""
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                """
                UPDATE enrollments SET enrolled_at = due, next_due_at = due
                FROM (SELECT id, :start + (row_number() OVER (ORDER BY id) - 1)
                             * (interval '1 second' / :per_second) AS due
                      FROM enrollments WHERE lead_id BETWEEN :first AND :last) AS spread
                WHERE enrollments.id = spread.id
                """
            ),
            {
                "start": start,
                "per_second": per_second,
                "first": cohort.first_lead_id,
                "last": cohort.last_lead_id,
            },
        )
