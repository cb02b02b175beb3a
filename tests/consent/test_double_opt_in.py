"""Double opt-in: a campaign that asks for it emails a new address once, and sends the
series (from the moment of the click) only after the person confirms."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.sync import sync_campaign
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.models import ConsentEvent
from nurture.messages.channels.base import OutboundEmail
from nurture.messages.models import Message, MessageKind
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import ARTICLE
from tests.harness import Harness
from tests.support import Database

DOWNLOAD = f"/articles/{ARTICLE}/download"
FORM = {"first_name": "Dana", "email": "dana@example.com", "consent_email": "yes"}


@pytest.fixture
def double_opt_in(db: Database, clock: ManualClock, seeded_definition: CampaignDefinition) -> int:
    spec = seeded_definition.spec.model_copy(update={"double_opt_in": True})
    with db.factory.begin() as session:
        return sync_campaign(
            session, replace(seeded_definition, spec=spec), clock.now()
        ).campaign_id


def enrollment(db: Database) -> Enrollment:
    with db.factory() as session:
        return session.scalars(select(Enrollment)).one()


def confirmation_link(harness: Harness) -> str:
    [email] = [m for m in harness.email.sent if isinstance(m, OutboundEmail)]
    assert email.subject == "Dana, please confirm your email for Riverside Physical Therapy"
    found = re.search(r"https://care\.example\.test(/confirm/[\w.-]+)", email.text)
    assert found is not None, email.text
    return found.group(1)


def test_a_new_address_gets_one_email_to_confirm_and_nothing_else(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    thanks = client.post(DOWNLOAD, data=FORM, follow_redirects=True)
    assert "One more step" in thanks.text
    assert enrollment(db).status == EnrollmentStatus.UNCONFIRMED
    with db.factory() as session:
        assert not current_consent(session, enrollment(db).lead_id)[Channel.EMAIL]
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=20), step=timedelta(hours=6))
    confirmation_link(harness)  # exactly one email: the confirmation
    assert len(harness.email.sent) == 1 and harness.sms.sent == []
    with db.factory() as session:
        kinds = set(session.scalars(select(Message.kind)))
    assert kinds == {MessageKind.TRANSACTIONAL}


def test_confirming_records_consent_and_starts_the_series_from_the_click(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    client.post(DOWNLOAD, data=FORM)
    harness = Harness(db, clock, settings)
    harness.dispatch()
    link = confirmation_link(harness)
    clock.advance(timedelta(days=2))
    page = client.get(link)
    assert page.status_code == 200 and "Yes, send me the guide" in page.text
    # Opening the link (as a mail scanner does) confirms nothing.
    assert enrollment(db).status == EnrollmentStatus.UNCONFIRMED
    done = client.post(link, headers={"User-Agent": "Firefox"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/articles/{ARTICLE}/read?welcome=")
    started = enrollment(db)
    assert started.status == EnrollmentStatus.ACTIVE
    assert started.enrolled_at == clock.now() and started.next_due_at == clock.now()
    with db.factory() as session:
        grant = session.scalars(
            select(ConsentEvent).where(ConsentEvent.channel == Channel.EMAIL)
        ).one()
    assert (grant.action, grant.source, grant.user_agent) == ("granted", "double-opt-in", "Firefox")
    harness.dispatch()
    assert [m.subject for m in harness.email.sent if isinstance(m, OutboundEmail)][-1] == (
        "Dana, here is your guide to tight hamstrings"
    )


def test_a_second_click_changes_nothing(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    client.post(DOWNLOAD, data=FORM)
    harness = Harness(db, clock, settings)
    harness.dispatch()
    link = confirmation_link(harness)
    client.post(link)
    first = enrollment(db).enrolled_at
    clock.advance(timedelta(hours=3))
    assert client.post(link).status_code == 303
    assert enrollment(db).enrolled_at == first
    with db.factory() as session:
        grants = session.scalars(select(ConsentEvent).where(ConsentEvent.channel == "email"))
        assert len(grants.all()) == 1


def test_an_address_already_confirmed_is_not_asked_again(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    client.post(DOWNLOAD, data=FORM)
    harness = Harness(db, clock, settings)
    harness.dispatch()
    client.post(confirmation_link(harness))
    again = client.post(
        "/api/leads",
        json={
            "article": ARTICLE,
            "first_name": "Dana",
            "email": "dana@example.com",
            "consent": {"email": True},
        },
    )
    assert again.json()["confirmation_sent"] is False


def test_signing_up_twice_in_a_day_sends_one_confirmation(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, double_opt_in: int
) -> None:
    first = client.post("/api/leads", json={**_api(), "first_name": "Dana"})
    assert first.status_code == 201 and first.json()["confirmation_sent"] is True
    client.post("/api/leads", json=_api())
    harness = Harness(db, clock, settings)
    harness.dispatch()
    assert len(harness.email.sent) == 1


def _api() -> dict[str, object]:
    return {
        "article": ARTICLE,
        "first_name": "Dana",
        "email": "dana@example.com",
        "consent": {"email": True},
    }


@pytest.mark.parametrize("token", ["not-a-token", "eyJsZWFkIjoiMSJ9.aw_QOQ.forged"])
def test_a_broken_confirmation_link_gets_a_clear_page_and_changes_nothing(
    client: TestClient, db: Database, token: str, double_opt_in: int
) -> None:
    client.post(DOWNLOAD, data=FORM)
    assert client.get(f"/confirm/{token}").status_code == 400
    assert client.post(f"/confirm/{token}").status_code == 400
    assert enrollment(db).status == EnrollmentStatus.UNCONFIRMED


def test_campaigns_without_double_opt_in_start_at_once(
    client: TestClient, db: Database, campaign: int
) -> None:
    client.post(DOWNLOAD, data=FORM)
    assert enrollment(db).status == EnrollmentStatus.ACTIVE
