"""The step editor shows a step's branch (`if:` and `goto:`) in words, and saving the
step's other fields keeps the branch as it was."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.campaigns.branch_words import condition_words
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign
from nurture.campaigns.spec import StepIf
from nurture.campaigns.sync import load_version, sync_campaign
from nurture.clock import ManualClock
from tests.support import Database
from tests.web.admin.console import sign_in_as
from tests.web.admin.test_console_step_editor import stored_form
from tests.web.page_parsing import text_by_id

BRANCHING = "sms-anatomy-short"
STEPS = "/admin/campaigns/hamstring-sciatica/steps"


@pytest.fixture
def with_goto(db: Database, clock: ManualClock, seeded_definition: CampaignDefinition) -> int:
    """The seeded campaign with a goto on its branching text, synced; its id."""
    data = seeded_definition.to_json()
    for step in data["spec"]["steps"]:
        if step["key"] == BRANCHING:
            step["goto"] = "treatment-options"
    with db.factory.begin() as session:
        definition = CampaignDefinition.from_json(data)
        return sync_campaign(session, definition, clock.now()).campaign_id


def test_the_step_editor_shows_the_steps_branch_in_words(
    client: TestClient, db: Database, clock: ManualClock, with_goto: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    branch = text_by_id(client.get(f"{STEPS}/{BRANCHING}/edit").text, "branch")
    assert "Only if: not opened anatomy-link within 3d" in branch
    assert "Then go to: treatment-options" in branch
    plain = text_by_id(client.get(f"{STEPS}/nerve-or-muscle/edit").text, "branch")
    assert "Always on the lead's path" in plain
    assert "Only if" not in plain and "Then go to" not in plain


def test_saving_a_branching_step_from_the_editor_keeps_its_if_and_goto(
    client: TestClient, db: Database, clock: ManualClock, with_goto: int
) -> None:
    marketing = sign_in_as(client, db, clock, "marketing")
    path = f"{STEPS}/{BRANCHING}"
    with db.factory() as session:
        campaign = session.get_one(Campaign, with_goto)
        assert campaign.current_version_id is not None
        before = load_version(session, campaign.current_version_id).spec.step(BRANCHING)
    data = {**stored_form(client, path), "delay": "8d1h", "action": "save"}
    # As the page's form posts it: post_form takes text fields only, this has the days.
    response = client.post(f"{path}/edit", data={**data, "csrf_token": marketing})
    assert response.status_code == 303, response.text
    with db.factory() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.current_version_id is not None
        saved = load_version(session, campaign.current_version_id).spec.step(BRANCHING)
    assert saved.delay == "8d1h"
    assert (saved.if_, saved.goto) == (before.if_, before.goto)
    assert saved.goto == "treatment-options"


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (StepIf(clicked="welcome-article"), "clicked welcome-article"),
        (StepIf(opened="anatomy-link", within="2d"), "opened anatomy-link within 2d"),
        (StepIf(replied=False, booked=False), "has not replied and has not booked"),
        (StepIf(not_clicked="sms-hello", replied=True), "not clicked sms-hello and has replied"),
    ],
)
def test_each_kind_of_branch_condition_reads_as_words(condition: StepIf, words: str) -> None:
    assert condition_words(condition) == words
