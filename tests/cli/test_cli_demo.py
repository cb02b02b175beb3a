"""`nurture demo`: two prospects through the real pipeline on an accelerated clock."""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.db import make_engine
from nurture.leads.models import Lead
from nurture.messages.models import Message
from tests.cli.conftest import Invoke, failed_cleanly, succeeded, timeline_entry

JORDAN_STEPS = (
    "welcome-article",
    "sms-hello",
    "why-stretching-alone",
    "anatomy-link",
    "sms-tip-nudge",
    "nerve-or-muscle",
    "how-pt-finds-cause",
    "treatment-options",
    "sms-screening-invite",
    "screening-invitation",
)


def _sections(output: str) -> tuple[list[str], list[str]]:
    lines = output.splitlines()
    jordan = next(i for i, line in enumerate(lines) if line.startswith("Jordan <"))
    sam = next(i for i, line in enumerate(lines) if line.startswith("Sam <"))
    return lines[jordan:sam], lines[sam:]


def test_demo_rehearses_both_sequences_through_the_worker(
    nurture: Invoke, settings: Settings
) -> None:
    began = time.monotonic()
    output = succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    assert time.monotonic() - began < 60
    jordan, sam = _sections(output)

    for step in JORDAN_STEPS[:-1]:
        assert " sent " in timeline_entry(jordan, step), step
    assert "Day 0" in timeline_entry(jordan, "welcome-article")
    assert "Mon 2 Nov 09:00 CST" in timeline_entry(jordan, "welcome-article")
    assert "Jordan, here is your guide to tight hamstrings" in timeline_entry(
        jordan, "welcome-article"
    )
    assert "Day 12" in timeline_entry(jordan, "sms-screening-invite")
    final = timeline_entry(jordan, "screening-invitation")
    assert "skipped" in final and "exit goal reached" in final
    assert "Booked a free screening (source demo)" in "\n".join(jordan)

    for step in ("sms-hello", "sms-tip-nudge", "sms-screening-invite"):
        row = timeline_entry(sam, step)
        assert "skipped" in row and "no sms address on file" in row, step
    assert " sent " in timeline_entry(sam, "screening-invitation")
    assert "Sam, your free screening is waiting" in timeline_entry(sam, "screening-invitation")

    # The files the console channels wrote are the ones the timeline claims.
    demo_dir = settings.data_dir / "demo"
    assert len(list((demo_dir / "outbox").glob("*.eml"))) == 6 + 7
    texts = [json.loads(line) for line in (demo_dir / "sms.log").read_text().splitlines()]
    assert [t["to"] for t in texts] == ["+12175550100"] * 3
    assert "outbox/" in output and "sms.log" in output

    # Statuses in the output come from the database rows.
    engine = make_engine(f"sqlite:///{demo_dir / 'nurture.db'}")
    with Session(engine) as session:
        jordan_id = session.scalars(select(Lead.id).where(Lead.first_name == "Jordan")).one()
        rows = {
            m.step_key: m.status
            for m in session.scalars(select(Message).where(Message.lead_id == jordan_id))
        }
    engine.dispose()
    assert rows == {step: "sent" for step in JORDAN_STEPS[:-1]}


def test_demo_starts_from_a_fresh_folder_each_time(nurture: Invoke, settings: Settings) -> None:
    succeeded(nurture("demo", "--start", "2026-11-02T09:00"))
    stale = settings.data_dir / "demo" / "outbox" / "left-over.eml"
    stale.write_text("from an earlier run")
    output = succeeded(nurture("demo", "--start", "2026-11-09T09:00"))
    assert not stale.exists()
    assert len(list((settings.data_dir / "demo" / "outbox").glob("*.eml"))) == 13
    assert "Mon 9 Nov 09:00 CST" in output


def test_demo_refuses_a_speed_it_cannot_read(nurture: Invoke) -> None:
    output = failed_cleanly(nurture("demo", "--speed", "fast"))
    assert "--speed 'fast'" in output
