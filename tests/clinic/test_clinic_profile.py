"""Saved clinic settings laid over the environment's, and quiet hours checked against campaigns."""

from __future__ import annotations

from sqlalchemy import update

from nurture.booking.models import ClinicSetting
from nurture.channel import Channel
from nurture.clinic.conflicts import sending_hours_conflicts
from nurture.clinic.profile import PROFILE_KEY, effective_settings, save_overrides
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from tests.support import Database


def store_profile(db: Database, clock: ManualClock, value: dict[str, str]) -> None:
    """The saved clinic settings row as an older release, or a hand, may have left it."""
    with db.factory.begin() as session:
        save_overrides(session, {"clinic_name": "Oak Street PT"}, clock.now())
        session.execute(
            update(ClinicSetting).where(ClinicSetting.key == PROFILE_KEY).values(value=value)
        )


def test_environment_settings_hold_until_staff_save_their_own(
    db: Database, settings: Settings
) -> None:
    with db.factory() as session:
        assert effective_settings(session, settings) == settings


def test_saved_fields_override_only_themselves(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    with db.factory.begin() as session:
        save_overrides(session, {"clinic_name": "Oak Street PT"}, clock.now())
    with db.factory.begin() as session:
        save_overrides(session, {"clinic_timezone": "America/Denver"}, clock.now())
    with db.factory() as session:
        applied = effective_settings(session, settings)
    assert (applied.clinic_name, applied.clinic_timezone) == ("Oak Street PT", "America/Denver")
    assert applied.clinic_zone.key == "America/Denver"
    assert applied.clinic_address == settings.clinic_address
    assert applied.secret_key == settings.secret_key


def test_a_stored_value_that_no_longer_checks_out_falls_back_to_the_environment(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    store_profile(
        db, clock, {"clinic_name": "Oak Street PT", "clinic_timezone": "Mars/Olympus_Mons"}
    )
    with db.factory() as session:
        applied = effective_settings(session, settings)
    assert applied.clinic_name == "Oak Street PT"
    assert applied.clinic_timezone == settings.clinic_timezone


def test_hours_saved_under_their_former_name_still_apply(
    db: Database, clock: ManualClock, settings: Settings
) -> None:
    store_profile(db, clock, {"clinic_name": "Oak Street PT", "sms_quiet_hours": "10:00-20:00"})
    with db.factory() as session:
        assert effective_settings(session, settings).sms_sending_hours == "10:00-20:00"


def test_sms_hours_outside_every_step_window_name_the_steps_that_could_never_go(
    db: Database, settings: Settings, campaign: int
) -> None:
    late = SendingPolicy.from_settings(
        settings.model_copy(update={"sms_sending_hours": "19:00-21:00"})
    )
    with db.factory() as session:
        problems = sending_hours_conflicts(session, late)
    assert problems[0] == (
        Channel.SMS,
        "step sms-hello of campaign hamstring-sciatica could never go out"
        " (10:00-18:00 and 19:00-21:00)",
    )
    assert {channel for channel, _ in problems} == {Channel.SMS}
    assert len(problems) == 4  # the four text steps


def test_sms_hours_that_shut_out_one_state_say_which(
    db: Database, settings: Settings, campaign: int
) -> None:
    # 17:00-21:00 still leaves every state an hour inside the steps' 10:00-18:00.
    evening = settings.model_copy(update={"sms_sending_hours": "17:00-21:00"})
    with db.factory() as session:
        assert sending_hours_conflicts(session, SendingPolicy.from_settings(evening)) == []
    state_late = settings.model_copy(
        update={"sms_sending_hours": "12:00-21:00", "sms_state_hours": {"FL": "08:00-11:00"}}
    )
    with db.factory() as session:
        problems = sending_hours_conflicts(session, SendingPolicy.from_settings(state_late))
    assert (
        Channel.SMS,
        "step sms-hello of campaign hamstring-sciatica could never reach leads in FL (08:00-11:00)",
    ) in problems
