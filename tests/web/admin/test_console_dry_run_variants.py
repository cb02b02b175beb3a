"""The console's dry run and A/B tests: each tested step says which variant the sample
lead gets (the dispatcher's choice, a promoted winner included) with its words to read,
and staff pick another arm to read it; a bad pick is a 400 beside its field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import StepPromotion
from nurture.campaigns.preview import SAMPLE_PUBLIC_ID
from nurture.campaigns.variants import variant_for
from nurture.clock import ManualClock
from tests.support import Database
from tests.web.admin.console import sign_in_as
from tests.web.page_parsing import text_by_id

SLUG = "hamstring-sciatica"
TESTED = "anatomy-link"
TIMELINE = f"/admin/campaigns/{SLUG}/timeline"
START = {"start": "2026-11-02T09:00", "zone": "America/Chicago", "sms": "1"}


def _arms(definition: CampaignDefinition) -> tuple[str, str]:
    step = definition.spec.step(TESTED)
    own = variant_for(step, SAMPLE_PUBLIC_ID, SLUG)
    assert own is not None
    return own, next(v.key for v in step.variants if v.key != own)


def _subject(definition: CampaignDefinition, arm: str) -> str:
    subject = definition.spec.step(TESTED).written("en", arm).subject
    assert subject is not None
    return subject


def test_console_dry_run_shows_which_subject_the_sample_lead_gets(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    sign_in_as(client, db, clock, "marketing")
    own, other = _arms(seeded_definition)
    page = client.get(TIMELINE, params=START).text
    shown = text_by_id(page, f"dry-run-{TESTED}-variant")
    assert shown.startswith(f"variant {own} (the sample lead's, by weight; also {other})")
    assert f"Subject: {_subject(seeded_definition, own)}" in shown
    assert "Hi Jordan" in shown  # the body, as the sample lead reads it
    assert text_by_id(page, "dry-run-nerve-or-muscle-variant") == ""
    # Every arm can be picked from the form.
    for arm in (own, other):
        assert f'<option value="{TESTED}={arm}">{arm}</option>' in page


def test_picking_a_variant_in_the_console_dry_run_shows_its_subject(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    sign_in_as(client, db, clock, "marketing")
    own, other = _arms(seeded_definition)
    page = client.get(TIMELINE, params={**START, "variant": f"{TESTED}={other}"}).text
    shown = text_by_id(page, f"dry-run-{TESTED}-variant")
    assert shown.startswith(f"variant {other} (picked; also {own})")
    assert f"Subject: {_subject(seeded_definition, other)}" in shown
    assert f'<option value="{TESTED}={other}" selected>' in page


def test_the_console_dry_run_shows_a_promoted_winner_as_the_dispatcher_would_send_it(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    own, other = _arms(seeded_definition)
    with db.factory.begin() as session:
        session.add(
            StepPromotion(
                campaign_id=campaign,
                step_key=TESTED,
                variant=other,
                metric="clicks",
                reason="clicked more",
                decided_at=clock.now(),
            )
        )
    sign_in_as(client, db, clock, "marketing")
    page = client.get(TIMELINE, params=START).text
    shown = text_by_id(page, f"dry-run-{TESTED}-variant")
    assert shown.startswith(f"variant {other} (the promoted winner; also {own})")
    assert f"Subject: {_subject(seeded_definition, other)}" in shown


def test_an_unknown_variant_in_the_console_dry_run_is_a_400_naming_it(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    response = client.get(TIMELINE, params={**START, "variant": f"{TESTED}=control"})
    assert response.status_code == 400
    assert text_by_id(response.text, "variant-error") == (
        f"A/B variant: step '{TESTED}' has no variant 'control'; "
        "its variants are: anatomy, nerve-path"
    )
    assert text_by_id(response.text, "dry-run") == ""


def test_the_step_editor_links_each_variant_to_the_dry_run_that_shows_it(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    campaign: int,
    seeded_definition: CampaignDefinition,
) -> None:
    sign_in_as(client, db, clock, "marketing")
    own, other = _arms(seeded_definition)
    editor = client.get(f"/admin/campaigns/{SLUG}/steps/{TESTED}/edit").text
    link = f"{TIMELINE}?variant={TESTED}%3D{other}"
    assert f'href="{link}"' in editor
    shown = text_by_id(client.get(link).text, f"dry-run-{TESTED}-variant")
    assert shown.startswith(f"variant {other} (picked; also {own})")
