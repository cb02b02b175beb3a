"""Short links in texts: each text's own, written before it goes, followed and counted."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.analytics.funnel import StepResult
from nurture.analytics.report import STEP_HEADERS, step_cells
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.preview import Draft, preview_step
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.links import read_token
from nurture.messages.compose import compose_sms
from nurture.messages.models import Message
from nurture.messages.segments import count_segments
from nurture.messages.short_links import ShortLink, record_links
from tests.factories import capture
from tests.harness import Harness
from tests.messages.test_compose import lead
from tests.support import Database

SHORT = re.compile(r"https://care\.example\.test/r/([0-9A-Za-z]{10})\b")
IPHONE_PREVIEW = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"


def first_text(db: Database, clock: ManualClock, settings: Settings) -> tuple[Harness, str]:
    """Dana's first text, handed off; returns the harness and its short link's code."""
    capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=3))
    [text] = harness.sms.sent
    found = SHORT.search(text.body)
    assert found is not None, text.body
    return harness, found[1]


def stored(db: Database, code: str) -> ShortLink:
    with db.factory() as session:
        return session.get_one(ShortLink, code)


def test_a_text_carries_a_short_link_of_its_own_written_before_it_went(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness, code = first_text(db, clock, settings)
    [text] = harness.sms.sent
    assert "/articles/" not in text.body  # the article's full URL is not in the text
    link = stored(db, code)
    hello = harness.messages()["sms-hello"]
    assert (link.message_id, link.name, link.clicks) == (hello.id, "article", 0)
    assert link.created_at <= hello.handed_off_at  # type: ignore[operator]
    # Nothing about the lead in the URL: not the name, the number or their public id.
    assert code not in (hello.ref, "Dana") and "Dana" not in code
    with db.factory() as session:
        other_texts = (
            select(ShortLink.code)
            .join(Message, Message.id == ShortLink.message_id)
            .where(Message.channel == Channel.SMS, ShortLink.message_id != hello.id)
        )
        assert session.scalar(other_texts) is None


def test_a_text_handed_off_again_carries_the_same_link_and_writes_no_second_row(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    seeded_definition: CampaignDefinition,
    campaign: int,
) -> None:
    step = next(s for s in seeded_definition.spec.steps if s.channel is Channel.SMS)
    first, links = compose_sms(settings, lead(), seeded_definition, step, "ref-1")
    again, same = compose_sms(settings, lead(), seeded_definition, step, "ref-1")
    other, _ = compose_sms(settings, lead(), seeded_definition, step, "ref-2")
    assert first.body == again.body and links == same
    assert other.body != first.body
    harness, _ = first_text(db, clock, settings)
    hello = harness.messages()["sms-hello"]
    with db.factory.begin() as session:
        record_links(session, [(hello.id, link) for link in links], clock.now())
        record_links(session, [(hello.id, link) for link in links], clock.now())
        codes = session.scalars(select(ShortLink.code).where(ShortLink.message_id == hello.id))
        assert len(list(codes)) == 2  # the text's own link, and the one recorded here


def test_following_a_short_link_counts_the_click_and_opens_the_article(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness, code = first_text(db, clock, settings)
    response = client.get(f"/r/{code}", headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://care.example.test/articles/")
    assert response.headers["cache-control"] == "no-store"
    assert stored(db, code).clicks == 1
    assert stored(db, code).first_clicked_at == clock.now()
    assert harness.messages()["sms-hello"].clicks == 1


def test_a_link_preview_or_a_head_request_is_sent_on_but_not_counted(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    harness, code = first_text(db, clock, settings)
    preview = client.get(
        f"/r/{code}", headers={"User-Agent": IPHONE_PREVIEW}, follow_redirects=False
    )
    head = client.head(f"/r/{code}", follow_redirects=False)
    assert preview.status_code == head.status_code == 302
    assert stored(db, code).clicks == 0
    assert harness.messages()["sms-hello"].clicks == 0


def test_the_booking_link_opens_the_leads_booking_page_with_a_fresh_token(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead_row = capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=15), step=timedelta(hours=3))
    invite = next(text for text in harness.sms.sent if "free screening" in text.body)
    found = SHORT.search(invite.body)
    assert found is not None, invite.body
    # No token is stored: the booking page's link is signed when it is followed.
    assert (stored(db, found[1]).name, stored(db, found[1]).target) == ("book", None)
    response = client.get(f"/r/{found[1]}", follow_redirects=False)
    location = response.headers["location"]
    assert response.status_code == 302 and "/book/" in location
    token = location.rsplit("/", 1)[1]
    assert read_token(settings, "book", token) == {"lead": lead_row.lead_public_id}


def test_an_unknown_or_mistyped_code_gets_a_friendly_page_not_found(
    client: TestClient, campaign: int
) -> None:
    for path in ("/r/AAAAAAAAAA", "/r/short", "/r/%00%00", "/r/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
        assert "Link not found" in response.text


def test_a_click_on_a_texts_link_counts_for_its_step(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    _, code = first_text(db, clock, settings)
    client.get(f"/r/{code}", follow_redirects=False)
    with db.factory() as session:
        clicked = session.scalars(
            select(Message.step_key).where(Message.clicks > 0, Message.channel == Channel.SMS)
        ).all()
    assert clicked == ["sms-hello"]


def test_the_editor_shows_what_short_links_save_in_a_text(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    body = (
        "{{ clinic.name }}: Hi {{ first_name }}, your free screening is one tap away: "
        "{{ booking_url }} Reply STOP to opt out."
    )
    draft = Draft(key="invite", channel=Channel.SMS, body=body)
    preview = preview_step(seeded_definition, draft, settings)
    assert preview.segments is not None and preview.without_short_links is not None
    assert SHORT.search(preview.sms)
    assert count_segments(preview.sms) == preview.segments
    assert preview.segments.segments < preview.without_short_links.segments
    assert "short links save" in preview.segment_summary


def test_the_results_show_a_text_steps_clicks_and_click_rate_but_no_opens() -> None:
    row = StepResult("sms-invite", "sms", sent=2, delivered=2, clicked=1, text_delivered=2)
    cells = dict(zip(STEP_HEADERS, step_cells(row), strict=True))
    assert (cells["Clicked"], cells["Click rate"]) == ("1", "50.0%")
    assert (cells["Opened"], cells["Open rate"], cells["Bounces"]) == ("n/a", "n/a", "n/a")


def test_an_emails_links_are_short_links_that_count_for_the_email(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings)
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=1))
    [email] = harness.email.sent
    found = SHORT.search(email.text)
    assert found is not None, email.text
    assert found[0] in email.html and "/articles/" not in email.text
    welcome = harness.messages()["welcome-article"]
    assert stored(db, found[1]).message_id == welcome.id
    # One-click unsubscribe works without the redirect: that link stays direct.
    assert "/r/" not in email.headers["List-Unsubscribe"]
    response = client.get(f"/r/{found[1]}", headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert response.headers["location"].endswith("/articles/tight-hamstrings-sciatic-nerve/read")
    assert harness.messages()["welcome-article"].clicks == 1
    assert stored(db, found[1]).last_clicked_at == clock.now()
