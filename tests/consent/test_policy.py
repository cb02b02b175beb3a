"""Each sending-policy rule, with a frozen clock, across time zones and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import CampaignSpec, StepSpec
from nurture.campaigns.sync import sync_campaign
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings, get_settings
from nurture.consent.policy import SendingPolicy, us_state
from nurture.hours import FrequencyCap, parse_hours
from nurture.leads.zone import lead_zone
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.timing import due_at
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database

NEW_YORK, CHICAGO = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
TEXT = StepSpec(key="t", delay="0m", channel=Channel.SMS, template="t.txt.j2")
MAIL = StepSpec(key="m", delay="0m", channel=Channel.EMAIL, template="m.md.j2", subject="s")


def policy(monkeypatch: pytest.MonkeyPatch, **env: str) -> SendingPolicy:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return SendingPolicy.from_settings(get_settings())


def test_default_sms_sending_hours_hold_a_late_evening_text_until_eight(
    settings: Settings,
) -> None:
    rules = SendingPolicy.from_settings(settings)
    evening = datetime(2026, 11, 3, 21, 30, tzinfo=CHICAGO)
    assert due_at(evening, TEXT, CHICAGO, rules.windows(TEXT, "+12175550199")) == datetime(
        2026, 11, 4, 8, 0, tzinfo=CHICAGO
    )


def test_quiet_hours_are_configurable_per_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = policy(monkeypatch, SMS_QUIET_HOURS="09:30-17:00", EMAIL_QUIET_HOURS="07:00-22:00")
    morning = datetime(2026, 11, 3, 9, 0, tzinfo=CHICAGO)
    night = datetime(2026, 11, 3, 23, 0, tzinfo=CHICAGO)
    assert due_at(morning, TEXT, CHICAGO, rules.windows(TEXT, None)) == datetime(
        2026, 11, 3, 9, 30, tzinfo=CHICAGO
    )
    assert due_at(night, MAIL, CHICAGO, rules.windows(MAIL, None)) == datetime(
        2026, 11, 4, 7, 0, tzinfo=CHICAGO
    )


def test_sending_hours_are_read_under_their_own_names_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = policy(monkeypatch, SMS_SENDING_HOURS="10:00-18:00", EMAIL_SENDING_HOURS="07:00-22:00")
    assert [w.label() for w in rules.windows(TEXT, None)] == ["10:00-18:00"]
    assert [w.label() for w in rules.windows(MAIL, None)] == ["07:00-22:00"]


def test_email_has_no_quiet_hours_by_default(settings: Settings) -> None:
    rules = SendingPolicy.from_settings(settings)
    three_am = datetime(2026, 11, 3, 3, 0, tzinfo=CHICAGO)
    assert due_at(three_am, MAIL, CHICAGO, rules.windows(MAIL, None)) == three_am


def test_florida_numbers_get_the_stricter_eight_pm_cut_off(settings: Settings) -> None:
    rules = SendingPolicy.from_settings(settings)
    miami = ZoneInfo("America/New_York")
    at = datetime(2026, 11, 3, 20, 30, tzinfo=miami)
    assert us_state("+13055550123") == "FL"
    assert due_at(at, TEXT, miami, rules.windows(TEXT, "+13055550123")) == datetime(
        2026, 11, 4, 8, 0, tzinfo=miami
    )
    assert due_at(at, TEXT, miami, rules.windows(TEXT, "+12125550100")) == at


def test_unknown_zone_falls_back_to_the_phone_region_then_the_clinic() -> None:
    clinic = ZoneInfo("America/Chicago")
    assert lead_zone(None, "+442071838750", clinic).key == "Europe/London"
    assert lead_zone("Not/AZone", "+819012345678", clinic).key == "Asia/Tokyo"
    assert lead_zone(None, None, clinic) is clinic
    # A US number spans several zones: the clinic's zone is the honest fallback.
    assert lead_zone(None, "+12175550199", clinic) is clinic


def test_text_held_overnight_across_the_dst_change_goes_at_eight_local(
    settings: Settings,
) -> None:
    rules = SendingPolicy.from_settings(settings)
    # 22:00 EDT on Saturday 31 Oct 2026; clocks go back at 02:00 on Sunday.
    late = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    allowed = due_at(late, TEXT, NEW_YORK, rules.windows(TEXT, None))
    assert allowed == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert allowed.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-5)


def test_frequency_cap_releases_a_day_after_the_last_send(settings: Settings) -> None:
    rules = SendingPolicy.from_settings(settings)
    now = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    sent = [now - timedelta(hours=5)]
    assert rules.caps[Channel.SMS] == FrequencyCap(1, timedelta(hours=24))
    assert rules.cap_release(Channel.SMS, sent, now) == now + timedelta(hours=19)
    assert rules.cap_release(Channel.SMS, [now - timedelta(hours=25)], now) is None
    assert rules.cap_release(Channel.EMAIL, sent, now) is None  # two emails a day allowed


def test_bad_policy_values_are_refused_with_the_expected_form() -> None:
    with pytest.raises(ValueError, match="08:00-21:00"):
        parse_hours("8pm-9am")
    with pytest.raises(ValueError, match="1/24h"):
        FrequencyCap.parse("once a day")


def second_campaign() -> CampaignDefinition:
    spec = CampaignSpec(
        slug="knee-followup",
        name="Knee follow-up",
        article="tight-hamstrings-sciatic-nerve",
        steps=[
            StepSpec(
                key="hello-text",
                delay="3h",
                channel=Channel.SMS,
                template="t.txt.j2",
                condition="sms_consent",
            )
        ],
    )
    return CampaignDefinition(spec, {"t.txt.j2": "{{ clinic.name }}: hi {{ first_name }}"})


def test_frequency_cap_spans_campaigns_and_holds_the_second_text(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with db.factory.begin() as session:
        sync_campaign(session, second_campaign(), clock.now())
    harness = Harness(db, clock, settings)
    capture(db.factory, clock, settings)
    # The article enrols the lead in the seeded campaign; enrol in the second one too.
    with db.factory.begin() as session:
        from nurture.campaigns.models import Campaign
        from nurture.campaigns.sync import load_version
        from nurture.leads.models import Lead
        from nurture.sequences.enroll import enroll

        other = session.scalars(select(Campaign).where(Campaign.slug == "knee-followup")).one()
        lead = session.scalars(select(Lead)).one()
        assert other.current_version_id is not None
        enroll(
            session,
            lead_id=lead.id,
            campaign_id=other.id,
            version_id=other.current_version_id,
            definition=load_version(session, other.current_version_id),
            zone=CHICAGO,
            now=clock.now(),
            policy=SendingPolicy.from_settings(settings),
            phone=lead.phone,
        )
    harness.run_for(timedelta(hours=4), step=timedelta(minutes=15))
    with db.factory() as session:
        texts = {
            m.step_key: m for m in session.scalars(select(Message).where(Message.channel == "sms"))
        }
    assert texts["sms-hello"].status == MessageStatus.SENT
    assert texts["hello-text"].status == MessageStatus.HELD
    assert texts["hello-text"].reason == "frequency cap reached for sms"
    assert len(harness.sms.sent) == 1
    first = texts["sms-hello"].handed_off_at
    assert first is not None
    harness.run_for(timedelta(hours=23), step=timedelta(minutes=15))
    released = harness.messages()["hello-text"]
    assert released.status == MessageStatus.SENT
    assert released.handed_off_at is not None
    assert released.handed_off_at - first >= timedelta(hours=24)
