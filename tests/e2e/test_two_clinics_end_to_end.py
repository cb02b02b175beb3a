"""A group of two clinics in different time zones, end to end on real processes.

Web, beat and a worker run on the accelerated clock (tests.e2e.stack). Lucía, who reads
Spanish, signs up for the second clinic, Northside; Dana for the first. Lucía's texts
come from Northside's number, in Spanish, inside the sending hours where Northside is
(her number's area code spans two zones, so her clinic's is hers); she texts "PARAR" to
that number through the signed Twilio webhook and gets no more texts, while Dana's
sequence goes on from the clinic's own number.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from nurture.clock import Clock
from nurture.locations.spec import parse_locations, sync_locations
from nurture.messages.models import MessageStatus
from tests.e2e.short_campaign import ShortCampaign
from tests.e2e.stack import (
    StartStack,
    lead_messages,
    post_inbound_text,
    provider_env,
    wait_until,
)
from tests.helpers.net import free_port
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

CLINIC_NUMBER = provider_env("")["TWILIO_FROM_NUMBER"]
NORTH_NUMBER = "+13035550111"
LUCIA_PHONE = "+12085550123"  # Idaho: two zones, so the phone names none
DANA_PHONE = "+12175550199"
CAMPAIGN = ShortCampaign(
    slug="e2e-locations",
    name="Two clinics",
    description="Five steps in four hours, in English and Spanish.",
    article="e2e-locations-guide",
    article_title="A short guide for the locations test",
    article_summary="Five messages in four hours.",
    delays=("0m", "30m", "2h", "3h", "4h"),
    sms_hello="{{ clinic.name }}: Hi {{ first_name }}. Reply STOP to opt out.",
    sms_hello_es="{{ clinic.name }}: Hola {{ first_name }}. Responda PARAR para no recibir mas.",
)


@pytest.fixture
def redis_db() -> int:
    return 11


@pytest.fixture
def short_campaign() -> ShortCampaign:
    return CAMPAIGN


def fixed_zone_at(hour: int, clock: Clock) -> str:
    """A fixed-offset zone where the virtual time now falls in `hour`."""
    offset = (hour - clock.now().hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def text_north(web_url: str, auth_token: str, body: str) -> list[str]:
    """Lucía texts Northside's number; the texts answered."""
    return post_inbound_text(
        web_url, auth_token, sender=LUCIA_PHONE, to=NORTH_NUMBER, body=body, sid="SM" + "e5" * 16
    )


@pytest.mark.timeout(120)
def test_a_spanish_speaking_lead_of_the_second_clinic_hears_from_it_until_parar(
    engine: Engine, virtual_clock: Clock, start_stack: StartStack
) -> None:
    north_zone = fixed_zone_at(9, virtual_clock)
    clinic_zone = fixed_zone_at(13, virtual_clock)  # the first clinic, four hours apart
    northside = {
        "slug": "northside",
        "name": "Northside PT",
        "timezone": north_zone,
        "sms_sender": NORTH_NUMBER,
        "email_from": "northside@riverside-pt.example",
    }
    with sessionmaker(engine).begin() as session:
        specs = parse_locations({"locations": [northside]})
        sync_locations(session, specs, virtual_clock.now())
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    with ProviderStub() as stub:
        auth_token = provider_env(stub.url)["TWILIO_AUTH_TOKEN"]
        stack = start_stack(
            stub.url,
            worker_name="locations",
            web_port=web_port,
            PUBLIC_BASE_URL=web_url,
            CLINIC_TIMEZONE=clinic_zone,
        )
        lucia = sign_up(
            web_url,
            first_name="Lucía",
            email="lucia@example.com",
            phone=LUCIA_PHONE,
            language="es",
            location="northside",
        )
        sign_up(
            web_url,
            first_name="Dana",
            email="dana@example.com",
            phone=DANA_PHONE,
            timezone=clinic_zone,
        )

        def texts(to: str) -> list[dict[str, object]]:
            return [r for r in stub.records if r["provider"] == "twilio" and r["to"] == to]

        wait_until(
            lambda: len(texts(LUCIA_PHONE)) >= 1, 30, "Lucía's first text", abort=stack.trouble
        )
        [guide] = [r for r in stub.records if r["to"] == "lucia@example.com"]
        assert guide["subject"] == "Lucía, aquí tiene su guía"
        assert guide["from"] == "northside@riverside-pt.example"
        [hello] = texts(LUCIA_PHONE)
        assert hello["sender"] == NORTH_NUMBER
        assert hello["body"] == "Northside PT: Hola Lucía. Responda PARAR para no recibir mas."

        replies = text_north(web_url, auth_token, "PARAR")
        assert len(replies) == 1 and "baja" in replies[0]  # confirmed, in Spanish

        # Dana's sequence goes on from the clinic's own number, past Lucía's next text.
        wait_until(lambda: len(texts(DANA_PHONE)) >= 2, 40, "Dana's two texts", abort=stack.trouble)
        assert {r["sender"] for r in texts(DANA_PHONE)} == {CLINIC_NUMBER}
        assert len(texts(LUCIA_PHONE)) == 1  # nothing after PARAR

    rows = lead_messages(engine, lucia)
    welcome = next(row for row in rows if row.step_key == "welcome")
    assert welcome.status == MessageStatus.SENT
    # Her text went inside the legal hours where her clinic is; her next one was skipped.
    zone = ZoneInfo(north_zone)
    [sms] = [row for row in rows if row.channel == "sms" and row.sent_at is not None]
    assert 8 <= sms.sent_at.astimezone(zone).hour < 21
    nudge = [row.status for row in rows if row.step_key == "sms-nudge"]
    assert nudge in ([], [MessageStatus.SKIPPED])


def sign_up(web_url: str, **lead: str) -> str:
    """A lead through the JSON API with email and SMS consent; their public id."""
    body = {"article": CAMPAIGN.article, "consent": {"email": True, "sms": True}, **lead}
    answer = httpx.post(f"{web_url}/api/leads", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["lead_id"])
