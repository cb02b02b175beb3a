"""A text's click-through in the results: following its short link moves the lead to
"clicked" in the funnel and counts for the text's step, once however often the lead
taps it, and never for a link preview."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nurture.analytics.funnel import campaign_results, live_results, recount_results
from nurture.analytics.period import Period
from nurture.clock import ManualClock
from nurture.config import Settings
from tests.messages.test_short_links import BROWSER, IPHONE_PREVIEW, first_text
from tests.support import Database

SLUG = "hamstring-sciatica"


def clicked(db: Database, clock: ManualClock) -> tuple[int, int, int]:
    """(leads at the funnel's clicked stage, leads who opened, sms-hello's messages
    clicked), the same counted live and read from a fresh rollup."""
    with db.factory.begin() as session:
        recount_results(session, SLUG, clock.now())
    found = set()
    with db.factory() as session:
        for results in (
            live_results(session, SLUG, Period()),
            campaign_results(session, SLUG, Period()),
        ):
            hello = next(step for step in results.steps if step.key == "sms-hello")
            opened = results.stage("opened").leads
            found.add((results.stage("clicked").leads, opened, hello.clicked))
    [numbers] = found  # the page, its export and `nurture stats` cannot disagree
    return numbers


def test_tapping_a_texts_link_puts_the_lead_in_clicked_once_however_often(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    _, code = first_text(db, clock, settings)
    assert clicked(db, clock) == (0, 0, 0)
    for _ in range(3):
        response = client.get(f"/r/{code}", headers={"User-Agent": BROWSER}, follow_redirects=False)
        assert response.status_code == 302
    # One lead, one text clicked: the clicked stage needs no email open or SendGrid event.
    assert clicked(db, clock) == (1, 0, 1)


def test_a_link_preview_or_a_head_request_leaves_the_lead_out_of_clicked(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    _, code = first_text(db, clock, settings)
    client.get(f"/r/{code}", headers={"User-Agent": IPHONE_PREVIEW}, follow_redirects=False)
    client.head(f"/r/{code}", follow_redirects=False)
    assert clicked(db, clock) == (0, 0, 0)
