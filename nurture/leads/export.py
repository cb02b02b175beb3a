"""Leads as CSV: the console's download and `nurture leads export` write the same rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from nurture.leads.search import LeadFilter, LeadSummary, all_matching
from nurture.spreadsheet import neutralise

COLUMNS = (
    "public_id",
    "first_name",
    "email",
    "phone",
    "zone",
    "signed_up",
    "campaigns",
    "email_consent",
    "sms_consent",
    "booked",
)
CHUNK = 64 * 1024  # one network write per chunk, not per lead


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def csv_row(lead: LeadSummary) -> list[str]:
    """One lead's cells, in COLUMNS order, neutralised."""
    campaigns = "; ".join(f"{slug}: {status}" for slug, status in lead.campaigns)
    cells = [
        lead.public_id,
        lead.first_name,
        lead.email,
        lead.phone or "",
        lead.zone.key,
        lead.signed_up.isoformat(timespec="seconds"),
        campaigns,
        _yes_no(lead.email_consent),
        _yes_no(lead.sms_consent),
        _yes_no(lead.booked),
    ]
    return [neutralise(cell) for cell in cells]


def csv_chunks(leads: Iterable[LeadSummary], size: int = CHUNK) -> Iterator[str]:
    """The header and one CSV line per lead, in chunks of about `size` characters (streaming)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow(csv_row(lead))
        if buffer.tell() >= size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_leads_csv(
    session: Session, out: TextIO, wanted: LeadFilter, clinic_zone: ZoneInfo
) -> int:
    """Write the leads `wanted` matches to `out` as CSV; returns how many."""
    count = 0

    def counted() -> Iterator[LeadSummary]:
        nonlocal count
        for lead in all_matching(session, wanted, clinic_zone):
            count += 1
            yield lead

    for chunk in csv_chunks(counted()):
        out.write(chunk)
    return count
