from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from nurture.hours import SMS_LEGAL_HOURS, SendWindow
from nurture.sequences.schedule import NoSendableTime, is_allowed, next_allowed

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_sms_due_at_night_waits_for_eight_in_the_morning_local() -> None:
    due = local(CHICAGO, 2026, 11, 2, 22, 30)
    assert next_allowed(due, CHICAGO, [SMS_LEGAL_HOURS]) == local(CHICAGO, 2026, 11, 3, 8, 0)


def test_sms_due_before_dawn_goes_the_same_morning() -> None:
    due = local(CHICAGO, 2026, 11, 3, 5, 0)
    assert next_allowed(due, CHICAGO, [SMS_LEGAL_HOURS]) == local(CHICAGO, 2026, 11, 3, 8, 0)


def test_quiet_hours_end_is_exclusive_so_nine_pm_waits() -> None:
    due = local(CHICAGO, 2026, 11, 3, 21, 0)
    assert not is_allowed(due, CHICAGO, [SMS_LEGAL_HOURS])
    assert is_allowed(local(CHICAGO, 2026, 11, 3, 20, 59), CHICAGO, [SMS_LEGAL_HOURS])


def test_same_instant_is_daytime_for_one_lead_and_night_for_another() -> None:
    instant = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)  # 08:30 New York, 21:30 Tokyo
    assert is_allowed(instant, NEW_YORK, [SMS_LEGAL_HOURS])
    assert not is_allowed(instant, ZoneInfo("Asia/Tokyo"), [SMS_LEGAL_HOURS])


def test_weekday_window_moves_a_saturday_step_to_monday() -> None:
    window = SendWindow(time(9), time(17), WEEKDAYS)
    saturday = local(CHICAGO, 2026, 11, 7, 10, 0)
    assert next_allowed(saturday, CHICAGO, [window]) == local(CHICAGO, 2026, 11, 9, 9, 0)


def test_step_window_and_quiet_hours_intersect() -> None:
    window = SendWindow(time(6), time(10))
    due = local(CHICAGO, 2026, 11, 3, 6, 30)
    assert next_allowed(due, CHICAGO, [window, SMS_LEGAL_HOURS]) == local(CHICAGO, 2026, 11, 3, 8)


def test_morning_after_dst_ends_is_eight_local_not_seven() -> None:
    # US daylight saving ended on 1 November 2026: 08:00 EST is 13:00 UTC, not 12:00.
    due = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 23:00 EDT on 31 Oct
    allowed = next_allowed(due, NEW_YORK, [SMS_LEGAL_HOURS])
    assert allowed == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert allowed.astimezone(NEW_YORK).hour == 8


def test_morning_after_dst_starts_is_eight_local() -> None:
    due = datetime(2027, 3, 14, 4, 0, tzinfo=UTC)  # 23:00 EST on 13 March 2027
    allowed = next_allowed(due, NEW_YORK, [SMS_LEGAL_HOURS])
    assert allowed == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)  # 08:00 EDT


def test_windows_that_never_overlap_are_an_error_not_a_silent_skip() -> None:
    early = SendWindow(time(6), time(7))
    with pytest.raises(NoSendableTime):
        next_allowed(local(CHICAGO, 2026, 11, 3, 12), CHICAGO, [early, SMS_LEGAL_HOURS])
