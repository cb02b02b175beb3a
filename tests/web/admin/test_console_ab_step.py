"""Editing an A/B tested step in the console: the page says it is a test, and saving the
step's own words keeps its variants and promotion rule in the new version."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign
from nurture.campaigns.sync import load_version
from nurture.clock import ManualClock
from tests.support import Database
from tests.web.admin.console import post_form, sign_in_as
from tests.web.admin.test_console_step_editor import stored_form
from tests.web.page_parsing import text_by_id

STEP = "/admin/campaigns/hamstring-sciatica/steps/anatomy-link"


@pytest.fixture
def marketing(client: TestClient, db: Database, clock: ManualClock, campaign: int) -> str:
    return sign_in_as(client, db, clock, "marketing")


def test_saving_a_tested_steps_subject_keeps_its_variants_and_rule(
    client: TestClient, db: Database, marketing: str, seeded_definition: CampaignDefinition
) -> None:
    page = client.get(f"{STEP}/edit")
    note = text_by_id(page.text, "ab-test-note")
    assert "anatomy (weight 1), nerve-path (weight 1)" in note
    data = {
        **stored_form(client, STEP),
        "subject": "Your hamstrings, your low back",
        "action": "save",
    }
    response = post_form(client, f"{STEP}/edit", marketing, data)
    assert response.status_code == 303, response.text
    with db.factory() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.current_version_id is not None
        saved = load_version(session, campaign.current_version_id).spec.step("anatomy-link")
    before = seeded_definition.spec.step("anatomy-link")
    assert saved.subject == "Your hamstrings, your low back"
    assert (saved.variants, saved.promote) == (before.variants, before.promote)
    # The control variant now says the new subject; the other keeps its own.
    assert saved.written("en", "anatomy").subject == "Your hamstrings, your low back"
    assert saved.written("en", "nerve-path").subject == before.written("en", "nerve-path").subject
