from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.models import ConsentAction, ConsentEvent
from nurture.links import make_token, preferences_url, unsubscribe_url
from tests.factories import capture
from tests.support import Database, tamper
from tests.web.conftest import path_of


def one_click(client: TestClient, url: str) -> Any:
    """What a mail provider sends for RFC 8058 one-click: no cookies, no script."""
    return client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> tuple[int, str]:
    result = capture(db.factory, clock, settings)
    return result.lead_id, result.lead_public_id


def consent(db: Database, lead_id: int) -> dict[Channel, bool]:
    with db.factory() as session:
        return current_consent(session, lead_id)


def revocations(db: Database) -> list[tuple[str, str, str | None]]:
    with db.factory() as session:
        return [
            (e.channel, e.source, e.user_agent)
            for e in session.scalars(
                select(ConsentEvent).where(ConsentEvent.action == ConsentAction.REVOKED)
            )
        ]


def test_opening_the_unsubscribe_link_only_asks_to_confirm(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    url = path_of(unsubscribe_url(settings, public_id, "email"))
    response = client.get(url)
    assert response.status_code == 200
    assert f'<form method="post" action="{url}">' in response.text
    assert "Stop receiving emails from" in response.text
    assert consent(db, lead_id) == {Channel.EMAIL: True, Channel.SMS: True}
    assert revocations(db) == []


def test_one_click_unsubscribe_stops_email_once_and_keeps_texts(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    url = path_of(unsubscribe_url(settings, public_id, "email"))
    first = one_click(client, url)
    second = one_click(client, url)
    for response in (first, second):
        assert response.status_code == 200
        assert "You will not receive any more emails" in response.text
        assert "set-cookie" not in response.headers
    assert consent(db, lead_id) == {Channel.EMAIL: False, Channel.SMS: True}
    assert revocations(db) == [("email", "unsubscribe-link", "testclient")]


def test_confirm_button_unsubscribes_too(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    response = client.post(path_of(unsubscribe_url(settings, public_id, "email")))
    assert response.status_code == 200
    assert consent(db, lead_id)[Channel.EMAIL] is False


def test_tampered_unsubscribe_link_shows_an_error_page_and_changes_nothing(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    url = path_of(unsubscribe_url(settings, public_id, "email"))
    tampered = tamper(url)
    for response in (client.get(tampered), one_click(client, tampered)):
        assert response.status_code == 400
        assert "This link is not valid." in response.text
        assert "Traceback" not in response.text
    assert consent(db, lead_id)[Channel.EMAIL] is True


def test_unsubscribe_link_for_a_lead_that_no_longer_exists_is_refused(
    client: TestClient, settings: Settings, lead: tuple[int, str]
) -> None:
    url = path_of(unsubscribe_url(settings, "0" * 32, "email"))
    assert one_click(client, url).status_code == 400


def test_booking_link_cannot_be_used_to_unsubscribe(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    token = make_token(settings, "book", {"lead": public_id, "channel": "email"})
    assert one_click(client, f"/unsubscribe/{token}").status_code == 400
    assert consent(db, lead_id)[Channel.EMAIL] is True


def test_expired_unsubscribe_link_says_so(
    client: TestClient, settings: Settings, lead: tuple[int, str]
) -> None:
    url = path_of(unsubscribe_url(settings, lead[1], "email"))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=401), tick=False):
        response = client.get(url)
    assert response.status_code == 400
    assert "This link has expired." in response.text


def test_preferences_page_stops_only_the_chosen_channel(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    lead_id, public_id = lead
    url = path_of(preferences_url(settings, public_id))
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="stop_email"' in page.text
    assert 'name="stop_sms"' in page.text
    saved = client.post(url, data={"stop_sms": "yes"})
    assert saved.status_code == 200
    assert "you will not receive any more text messages" in saved.text
    assert 'name="stop_sms"' not in saved.text
    assert consent(db, lead_id) == {Channel.EMAIL: True, Channel.SMS: False}
    assert revocations(db) == [("sms", "preferences-page", "testclient")]


def test_preferences_saved_with_nothing_ticked_changes_nothing(
    client: TestClient, db: Database, settings: Settings, lead: tuple[int, str]
) -> None:
    url = path_of(preferences_url(settings, lead[1]))
    response = client.post(url)
    assert "Nothing was changed." in response.text
    with db.factory() as session:
        assert session.scalar(select(func.count(ConsentEvent.id))) == 2


def test_preferences_link_with_tampered_token_shows_error_page(
    client: TestClient, settings: Settings, lead: tuple[int, str]
) -> None:
    url = path_of(preferences_url(settings, lead[1]))
    assert client.get(url + "x").status_code == 400
