"""Staff lead search: each filter picks the leads a coordinator would expect, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from nurture.booking.models import Booking, BookingStatus
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence, revoke
from nurture.leads.models import Lead
from nurture.leads.search import (
    LeadFilter,
    all_matching,
    count_matching,
    parse_filter,
    search_page,
)
from nurture.sequences.models import Enrollment, EnrollmentStatus
from tests.factories import capture
from tests.support import Database


def lead(
    db: Database, clock: ManualClock, settings: Settings, name: str, *, phone: str | None = None
) -> int:
    clock.advance(timedelta(hours=1))
    return capture(
        db.factory,
        clock,
        settings,
        email=f"{name.lower()}@example.com",
        first_name=name,
        phone=phone,
        sms=phone is not None,
    ).lead_id


def names(db: Database, settings: Settings, **values: str) -> list[str]:
    """The first names the filter form with `values` lists, newest first."""
    with db.factory() as session:
        wanted, problems = parse_filter(session, values, settings.clinic_zone)
        assert problems == {}
        found = search_page(session, wanted, settings.clinic_zone)
        assert found.total == count_matching(session, wanted) == len(found.rows)
        return [row.first_name for row in found.rows]


@pytest.fixture
def three(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> dict[str, int]:
    """Ann (email only), Ben (email and texts), Cal (texts revoked, paused, booked)."""
    ids = {
        "Ann": lead(db, clock, settings, "Ann"),
        "Ben": lead(db, clock, settings, "Ben", phone="+12175550101"),
        "Cal": lead(db, clock, settings, "Cal", phone="+12175550102"),
    }
    with db.factory.begin() as session:
        revoke(session, ids["Cal"], Channel.SMS, Evidence("test"), clock.now())
        session.execute(
            update(Enrollment)
            .where(Enrollment.lead_id == ids["Cal"])
            .values(status=EnrollmentStatus.PAUSED)
        )
        session.add(
            Booking(lead_id=ids["Cal"], status="requested", source="sms", created_at=clock.now())
        )
        session.add(
            Booking(
                lead_id=ids["Ben"],
                status=BookingStatus.CANCELLED,
                source="sms",
                created_at=clock.now(),
            )
        )
    return ids


def test_without_filters_every_lead_is_listed_newest_first(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    assert names(db, settings) == ["Cal", "Ben", "Ann"]


def test_sms_consent_follows_the_latest_ledger_row(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    assert names(db, settings, sms_consent="yes") == ["Ben"]
    assert names(db, settings, sms_consent="no") == ["Cal", "Ann"]  # revoked, never asked
    assert names(db, settings, email_consent="yes") == ["Cal", "Ben", "Ann"]
    assert names(db, settings, email_consent="no") == []


def test_booked_counts_open_bookings_only(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    assert names(db, settings, booked="yes") == ["Cal"]
    assert names(db, settings, booked="no") == ["Ben", "Ann"]  # Ben's was cancelled


def test_campaign_and_sequence_status_filter_together(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    assert names(db, settings, status="paused") == ["Cal"]
    assert names(db, settings, campaign="hamstring-sciatica", status="active") == ["Ben", "Ann"]
    assert names(db, settings, campaign="hamstring-sciatica") == ["Cal", "Ben", "Ann"]
    assert names(db, settings, status="exited") == []


def test_search_matches_part_of_a_name_or_address_case_insensitively(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    assert names(db, settings, q="bE") == ["Ben"]
    assert names(db, settings, q="@EXAMPLE") == ["Cal", "Ben", "Ann"]
    assert names(db, settings, q="%") == []  # a wildcard is a character like any other
    assert names(db, settings, q="_") == []


def test_a_whole_address_matches_only_that_address(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead(db, clock, settings, "Ann")
    lead(db, clock, settings, "Joann")
    assert names(db, settings, q="ANN@example.com") == ["Ann"]


def test_sign_up_dates_are_whole_days_in_the_clinic_calendar(
    db: Database, settings: Settings
) -> None:
    chicago_midnight = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)  # CST is UTC-6
    with db.factory.begin() as session:
        for name, moment in [
            ("Late Monday", chicago_midnight - timedelta(minutes=1)),
            ("Early Tuesday", chicago_midnight),
            ("Late Tuesday", chicago_midnight + timedelta(hours=23, minutes=59)),
            ("Wednesday", chicago_midnight + timedelta(days=1)),
        ]:
            session.add(
                Lead(
                    email=f"{len(name)}{moment:%H%M}@example.com",
                    first_name=name,
                    source="t",
                    created_at=moment,
                )
            )
    on_tuesday = {"signed_up_from": "2026-11-03", "signed_up_to": "2026-11-03"}
    assert names(db, settings, **on_tuesday) == ["Late Tuesday", "Early Tuesday"]
    assert names(db, settings, signed_up_to="2026-11-02") == ["Late Monday"]
    assert names(db, settings, signed_up_from="2026-11-04") == ["Wednesday"]


def test_unreadable_fields_are_named_and_the_rest_still_filter(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    with db.factory() as session:
        values = {
            "status": "sleeping",
            "booked": "yes",
            "signed_up_from": "2026-11-05",
            "signed_up_to": "2026-11-01",
            "campaign": "nope",
            "sms_consent": "perhaps",
        }
        wanted, problems = parse_filter(session, values, settings.clinic_zone)
    assert set(problems) == {"status", "signed_up_to", "campaign", "sms_consent"}
    assert "active, paused, completed, exited" in problems["status"]
    assert wanted.booked is True and wanted.signed_up_from == date(2026, 11, 5)


def test_filters_round_trip_through_the_query_string_without_the_search_text(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    with db.factory() as session:
        values = {"q": "dana@example.com", "booked": "no", "campaign": "hamstring-sciatica"}
        wanted, _ = parse_filter(session, values, settings.clinic_zone)
    assert wanted.query_string(page=2) == "campaign=hamstring-sciatica&booked=no&page=2"


def test_the_export_walks_every_match_in_list_order_across_batches(
    db: Database, settings: Settings, three: dict[str, int]
) -> None:
    with db.factory() as session:
        every = [
            row.first_name
            for row in all_matching(session, LeadFilter(), settings.clinic_zone, batch=2)
        ]
        assert every == ["Cal", "Ben", "Ann"]
