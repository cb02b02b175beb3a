"""`nurture consent`: the compliance officer's view of the ledger."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence, revoke, suppress
from nurture.db import get_sessionmaker
from tests.cli.conftest import Invoke, failed_cleanly, succeeded
from tests.factories import capture


def captured(settings: Settings, clock: ManualClock) -> int:
    factory = get_sessionmaker()
    lead = capture(factory, clock, settings, email="dana@example.com", phone="+12175550199")
    with factory.begin() as session:
        revoke(session, lead.lead_id, Channel.SMS, Evidence("sms:STOP"), clock.now())
        suppress(session, Channel.SMS, "+12175550199", "STOP reply", clock.now())
    return lead.lead_id


def test_show_by_phone_lists_grants_the_stop_and_the_suppression(
    nurture: Invoke, synced: None, settings: Settings, clock: ManualClock
) -> None:
    captured(settings, clock)
    output = succeeded(nurture("consent", "show", "(217) 555-0199"))
    assert "email  granted" in output
    assert "sms    not granted" in output
    assert "sms:STOP" in output and "sms-2026-11" in output
    assert "suppressed sms: STOP reply" in output


def test_export_writes_every_ledger_row_with_its_evidence(
    nurture: Invoke, synced: None, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    captured(settings, clock)
    target = tmp_path / "ledger.csv"
    assert "wrote 3 ledger rows" in succeeded(nurture("consent", "export", "-o", str(target)))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["channel"], r["action"]) for r in rows] == [
        ("email", "granted"),
        ("sms", "granted"),
        ("sms", "revoked"),
    ]
    assert rows[0]["wording"].startswith("Email me this guide")
    assert rows[0]["ip"] == "127.0.0.1" and rows[0]["source"] == "test"
    assert rows[2]["source"] == "sms:STOP"


def test_show_for_an_unknown_contact_says_so(nurture: Invoke, synced: None) -> None:
    assert "no lead with" in failed_cleanly(nurture("consent", "show", "nobody@example.com"))
    assert "not a valid phone number" in failed_cleanly(nurture("consent", "show", "12"))
