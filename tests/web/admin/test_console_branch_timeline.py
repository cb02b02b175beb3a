"""The console's dry run takes the lead's behaviour: each path of the campaign's
branches, and a behaviour it does not know refused beside its field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nurture.clock import ManualClock
from tests.support import Database
from tests.web.admin.console import sign_in_as
from tests.web.page_parsing import text_by_id

SLUG = "hamstring-sciatica"
START = {"start": "2026-11-02T09:00", "zone": "America/Chicago", "sms": "1"}


def test_the_dry_run_offers_every_behaviour_and_shows_the_path_of_the_one_picked(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/campaigns/{SLUG}/timeline", params=START).text
    for choice in ("opens nothing", "opens everything", "clicks anatomy-link"):
        assert f'<option value="{choice}"' in page
    assert text_by_id(page, "dry-run-sms-anatomy-short").startswith(
        "8 sms-anatomy-short SMS Tue 10 Nov 10:00 CST "
        "branch taken: anatomy-link not opened within 3d"
    )
    clicked = client.get(
        f"/admin/campaigns/{SLUG}/timeline",
        params={**START, "behaviour": "clicks anatomy-link"},
    ).text
    assert '<option value="clicks anatomy-link" selected>' in clicked
    assert "would be skipped: branch not taken: opened anatomy-link on day 4" in text_by_id(
        clicked, "dry-run-sms-anatomy-short"
    )


def test_an_unknown_behaviour_is_a_400_beside_the_field(
    client: TestClient, db: Database, clock: ManualClock, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    response = client.get(
        f"/admin/campaigns/{SLUG}/timeline", params={**START, "behaviour": "clicks step 3"}
    )
    assert response.status_code == 400
    assert text_by_id(response.text, "behaviour-error").startswith(
        "Lead's behaviour: 'clicks step 3' is not a behaviour"
    )
    assert text_by_id(response.text, "dry-run") == ""
