"""`nurture locations sync|list|limit-staff` and `nurture leads move`."""

from __future__ import annotations

from pathlib import Path

import yaml

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.db import get_sessionmaker
from nurture.leads.models import Lead
from nurture.staff.models import StaffUser
from tests.cli.conftest import Invoke, failed_cleanly, succeeded
from tests.factories import capture
from tests.locations.conftest import NORTHSIDE


def _file(tmp_path: Path, *locations: dict[str, object]) -> str:
    path = tmp_path / "locations.yaml"
    path.write_text(yaml.safe_dump({"locations": list(locations)}), encoding="utf-8")
    return str(path)


def test_sync_creates_then_updates_locations_and_list_shows_them(
    nurture: Invoke, migrated: None, tmp_path: Path
) -> None:
    file = _file(tmp_path, {"slug": "main"}, NORTHSIDE)
    assert "1 new (northside), 1 updated (main)" in succeeded(nurture("locations", "sync", file))
    listing = succeeded(nurture("locations", "list"))
    north = next(line for line in listing.splitlines() if "northside" in line)
    assert "America/Denver" in north and "+13035550111" in north and "yes" in north
    main = next(line for line in listing.splitlines() if " main " in line)
    assert "America/Chicago" in main  # the clinic's own settings
    renamed = _file(tmp_path, dict(NORTHSIDE, name="Northside Clinic"))
    assert "0 new (-), 1 updated (northside)" in succeeded(nurture("locations", "sync", renamed))
    assert "Northside Clinic" in succeeded(nurture("locations", "list"))


def test_a_bad_locations_file_is_refused_naming_each_field_and_nothing_is_written(
    nurture: Invoke, migrated: None, tmp_path: Path
) -> None:
    file = _file(tmp_path, dict(NORTHSIDE, sms_sender="MG123", sms_rate=-1))
    output = failed_cleanly(nurture("locations", "sync", file))
    assert "locations.0.sms_sender: a Messaging Service SID is MG" in output
    assert "locations.0.sms_rate" in output
    assert "northside" not in succeeded(nurture("locations", "list"))


def test_a_front_desk_is_limited_to_a_location_and_back_to_all(
    nurture: Invoke, migrated: None, tmp_path: Path, settings: Settings, clock: ManualClock
) -> None:
    succeeded(nurture("locations", "sync", _file(tmp_path, NORTHSIDE)))
    with get_sessionmaker().begin() as session:
        desk = StaffUser(
            email="desk@example.com", role="frontdesk", password_hash="-", created_at=clock.now()
        )
        session.add(desk)
    assert "now sees northside" in succeeded(
        nurture("locations", "limit-staff", "desk@example.com", "northside")
    )
    failed_cleanly(nurture("locations", "limit-staff", "desk@example.com", "southside"))
    with get_sessionmaker()() as session:
        user = session.query(StaffUser).one()
        assert user.location_ids == [2]
    assert "every location" in succeeded(nurture("locations", "limit-staff", "desk@example.com"))
    with get_sessionmaker()() as session:
        assert session.query(StaffUser).one().location_ids is None


def test_leads_move_puts_a_lead_at_another_location(
    nurture: Invoke, synced: None, tmp_path: Path, settings: Settings, clock: ManualClock
) -> None:
    succeeded(nurture("locations", "sync", _file(tmp_path, NORTHSIDE)))
    factory = get_sessionmaker()
    capture(factory, clock, settings, email="dana@example.com")
    assert "Moved to northside." in succeeded(
        nurture("leads", "move", "dana@example.com", "northside")
    )
    assert "Already at northside" in succeeded(
        nurture("leads", "move", "dana@example.com", "northside")
    )
    assert "no location is called 'mars'" in failed_cleanly(
        nurture("leads", "move", "dana@example.com", "mars")
    )
    with factory() as session:
        assert session.query(Lead).one().location_id == 2


def test_leads_add_takes_the_leads_clinic(
    nurture: Invoke, synced: None, tmp_path: Path, settings: Settings
) -> None:
    succeeded(nurture("locations", "sync", _file(tmp_path, NORTHSIDE)))
    added = nurture(
        "leads",
        "add",
        "--email",
        "ana@example.com",
        "--first-name",
        "Ana",
        "--location",
        "northside",
    )
    assert "Added Ana" in succeeded(added)
    unknown = nurture(
        "leads", "add", "--email", "bo@example.com", "--first-name", "Bo", "--location", "mars"
    )
    assert "--location: no location is called 'mars'" in failed_cleanly(unknown)
    with get_sessionmaker()() as session:
        assert [lead.location_id for lead in session.query(Lead)] == [2]
