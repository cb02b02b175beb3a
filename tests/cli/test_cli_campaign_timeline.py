"""`nurture campaigns timeline`: the send times a lead would see, by the dispatcher's maths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.clinic.profile import save_overrides
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.messages.models import Message
from nurture.sequences.dispatch import dispatch_due
from nurture.sequences.models import Enrollment
from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry
from tests.factories import capture
from tests.support import Database


def test_timeline_keeps_delays_in_hours_across_the_end_of_dst(nurture: Invoke) -> None:
    # Sign-up on Tuesday 27 Oct 20:30 in New York; US DST ends on Sunday 1 Nov. The
    # dispatcher adds delays to the UTC enrollment time, so after the change the
    # evening emails arrive an hour earlier on the wall clock.
    output = succeeded(
        nurture(
            "campaigns",
            "timeline",
            "hamstring-sciatica",
            "--start",
            "2026-10-27T20:30",
            "--timezone",
            "America/New_York",
        )
    )
    assert "Day 0" in timeline_entry(output, "welcome-article")
    assert "Tue 27 Oct 20:30 EDT" in timeline_entry(output, "welcome-article")
    assert "Thu 29 Oct 20:30 EDT" in timeline_entry(output, "why-stretching-alone")
    assert "Sat 31 Oct 20:30 EDT" in timeline_entry(output, "anatomy-link")
    assert "Day 7" in timeline_entry(output, "nerve-or-muscle")
    assert "Tue 3 Nov 19:30 EST" in timeline_entry(output, "nerve-or-muscle")
    assert "Tue 10 Nov 19:30 EST" in timeline_entry(output, "screening-invitation")


def test_timeline_moves_an_sms_due_at_night_to_the_next_morning(nurture: Invoke) -> None:
    output = succeeded(
        nurture(
            "campaigns",
            "timeline",
            "hamstring-sciatica",
            "--start",
            "2026-10-27T20:30",
            "--timezone",
            "America/New_York",
        )
    )
    hello = timeline_entry(output, "sms-hello")
    assert "Day 1" in hello
    assert "Wed 28 Oct 10:00 EDT" in hello
    assert "moved from Tue 27 Oct 22:30 EDT" in hello
    assert "SMS quiet hours 08:00-21:00" in hello
    # Sunday is outside the step's own window (Mon-Sat): Monday morning instead.
    nudge = timeline_entry(output, "sms-tip-nudge")
    assert "Mon 2 Nov 10:00 EST" in nudge
    assert "step window 10:00-18:00 Mon-Sat" in nudge


def test_timeline_without_sms_consent_marks_the_texts_skipped(nurture: Invoke) -> None:
    output = succeeded(
        nurture("campaigns", "timeline", "hamstring-sciatica", "--start", "2026-11-02T09:00")
    )
    # Only the desk's call-back is skipped: the sample lead never taps the screening text.
    skipped = [line for line in output.splitlines() if "skipped" in line]
    assert skipped == [line for line in skipped if "sms-screening-invite not clicked" in line]
    assert "skipped" in timeline_entry(output, "screening-call-back")
    output = succeeded(
        nurture(
            "campaigns", "timeline", "hamstring-sciatica", "--start", "2026-11-02T09:00", "--no-sms"
        )
    )
    for key in ("sms-hello", "sms-tip-nudge", "sms-screening-invite"):
        assert "skipped: no sms consent" in timeline_entry(output, key)
    assert "skipped" not in timeline_entry(output, "welcome-article")


def test_timeline_refuses_an_unknown_zone_or_start(nurture: Invoke) -> None:
    output = failed_cleanly(
        nurture("campaigns", "timeline", "hamstring-sciatica", "--timezone", "Mars/Olympus")
    )
    assert "--timezone 'Mars/Olympus'" in output
    output = failed_cleanly(
        nurture("campaigns", "timeline", "hamstring-sciatica", "--start", "next tuesday")
    )
    assert "--start 'next tuesday'" in output


@pytest.mark.slow
def test_timeline_matches_what_the_dispatcher_writes(
    nurture: Invoke, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings, timezone="America/Chicago")
    policy = SendingPolicy.from_settings(settings)
    for _ in range(15 * 24 * 4):
        dispatch_due(
            db.factory,
            clock.now(),
            lambda ids: None,
            batch_size=100,
            clinic_zone=settings.clinic_zone,
            policy=policy,
        )
        clock.advance(timedelta(minutes=15))
    with db.factory() as session:
        enrolled_at = session.scalars(select(Enrollment.enrolled_at)).one()
        written = {m.step_key: m.due_at for m in session.scalars(select(Message))}
    output = succeeded(
        nurture(
            "campaigns",
            "timeline",
            "hamstring-sciatica",
            "--start",
            enrolled_at.isoformat(),
            "--phone",
            "+12175550199",
        )
    )
    assert len(written) == 12
    zone = settings.clinic_zone
    for key, due in written.items():
        local = due.astimezone(zone)
        assert f"{local:%a} {local.day} {local:%b %H:%M %Z}" in timeline_entry(output, key), key


def test_timeline_follows_the_quiet_hours_saved_in_the_console(
    nurture: Invoke, migrated: None, clock: ManualClock
) -> None:
    with get_sessionmaker().begin() as session:
        save_overrides(session, {"sms_sending_hours": "12:00-21:00"}, clock.now())
    output = succeeded(
        nurture(
            "campaigns",
            "timeline",
            "hamstring-sciatica",
            "--start",
            "2026-10-27T20:30",
            "--timezone",
            "America/New_York",
        )
    )
    hello = timeline_entry(output, "sms-hello")
    assert "Wed 28 Oct 12:00 EDT" in hello
    assert "SMS quiet hours 12:00-21:00" in hello
