"""Several campaigns after one article: capture enrols the lead in the first active one
whose audience (language, consent) they are in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.lifecycle import change_status
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.spec import AudienceSpec
from nurture.campaigns.sync import sync_campaign
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.sequences.models import Enrollment
from nurture.staff.service import Actor
from tests.factories import ARTICLE, capture
from tests.support import REPO, Database

CAMPAIGNS = ["hamstring-es", "hamstring-sms", "hamstring-sciatica"]


@pytest.fixture
def article_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose article names three campaigns, the one for everyone last."""
    articles = tmp_path / "templates" / "articles"
    shutil.copytree(REPO / "templates" / "articles", articles)
    for path in articles.glob(f"{ARTICLE}*.md"):
        text = path.read_text(encoding="utf-8")
        listed = f"campaigns: [{', '.join(CAMPAIGNS)}]"
        path.write_text(text.replace("campaign: hamstring-sciatica", listed), encoding="utf-8")
    return settings.model_copy(update={"templates_dir": tmp_path / "templates"})


@pytest.fixture
def audiences(db: Database, clock: ManualClock, seeded_definition: CampaignDefinition) -> None:
    """The seeded campaign for everyone, and copies of it for Spanish readers and for
    leads who agreed to texts."""
    rules = {
        "hamstring-es": AudienceSpec(language="es"),
        "hamstring-sms": AudienceSpec(sms_consent=True),
        "hamstring-sciatica": None,
    }
    with db.factory.begin() as session:
        for slug, audience in rules.items():
            spec = seeded_definition.spec.model_copy(update={"slug": slug, "audience": audience})
            sync_campaign(
                session, CampaignDefinition(spec, seeded_definition.templates), clock.now()
            )


def enrolled_in(db: Database, lead_id: int) -> list[str]:
    with db.factory() as session:
        return list(
            session.scalars(
                select(Campaign.slug)
                .join(Enrollment, Enrollment.campaign_id == Campaign.id)
                .where(Enrollment.lead_id == lead_id)
            )
        )


def test_each_lead_is_enrolled_in_the_first_campaign_whose_audience_they_are_in(
    db: Database, clock: ManualClock, article_settings: Settings, audiences: None
) -> None:
    spanish = capture(
        db.factory, clock, article_settings, email="ana@example.com", language="es", sms=True
    )
    texting = capture(db.factory, clock, article_settings, email="bo@example.com", sms=True)
    email_only = capture(db.factory, clock, article_settings, email="cy@example.com", sms=False)

    assert enrolled_in(db, spanish.lead_id) == ["hamstring-es"]
    assert enrolled_in(db, texting.lead_id) == ["hamstring-sms"]
    assert enrolled_in(db, email_only.lead_id) == ["hamstring-sciatica"]


def test_a_paused_campaign_passes_its_audience_to_the_next_match(
    db: Database, clock: ManualClock, article_settings: Settings, audiences: None
) -> None:
    with db.factory.begin() as session:
        change_status(
            session, "hamstring-es", CampaignStatus.PAUSED, Actor("cli:test"), clock.now()
        )
    spanish = capture(db.factory, clock, article_settings, language="es", sms=False)
    assert spanish.enrolled
    assert enrolled_in(db, spanish.lead_id) == ["hamstring-sciatica"]


def test_no_campaign_matching_the_lead_enrols_them_in_none(
    db: Database,
    clock: ManualClock,
    article_settings: Settings,
    seeded_definition: CampaignDefinition,
) -> None:
    only_texts = seeded_definition.spec.model_copy(
        update={"slug": "hamstring-sms", "audience": AudienceSpec(sms_consent=True)}
    )
    with db.factory.begin() as session:
        sync_campaign(
            session, CampaignDefinition(only_texts, seeded_definition.templates), clock.now()
        )
    result = capture(db.factory, clock, article_settings, sms=False)
    assert not result.enrolled
    assert enrolled_in(db, result.lead_id) == []


def test_an_audience_names_a_language_we_write_in() -> None:
    with pytest.raises(ValueError, match="not 'fr'"):
        AudienceSpec(language="fr")
