"""Importing leads from a CSV: good rows stored, consented, enrolled and announced (the
lead.captured webhook, as the form's capture does); bad rows reported.

Rows go in chunks, each chunk one transaction and each row in a savepoint of its own,
so a row that fails to save is reported and the rows beside it are kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import Evidence, consent_in_force, grant, latest_action
from nurture.consent.models import ConsentAction
from nurture.consent.policy import SendingPolicy
from nurture.leads.capture import (
    CampaignRefused,
    CampaignTarget,
    CaptureResult,
    active_campaign,
    announce_capture,
    enrol_lead,
    upsert_lead,
)
from nurture.leads.importing.csv_file import CsvFile
from nurture.leads.importing.rows import CheckedRow, RowError, check_row, is_blank
from nurture.leads.models import Lead
from nurture.staff.service import Actor

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
SOURCE_PREFIX = "csv-import:"
Row = tuple[int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class ImportOrigin:
    """Which file the leads came from and who imported it: the consent evidence."""

    filename: str
    actor: Actor

    @property
    def source(self) -> str:
        """'csv-import:<file name>', as the lead and its consent rows record it."""
        return (SOURCE_PREFIX + self.filename)[:100]

    def evidence(self) -> Evidence:
        """The consent evidence for every grant this import makes."""
        return Evidence(self.source, self.actor.ip, f"imported by {self.actor.name}")


@dataclass
class ImportCounts:
    """What happened to the rows so far."""

    imported: int = 0  # enrolled in the campaign by this import
    already_enrolled: int = 0  # the lead was in the campaign already: details refreshed
    skipped: int = 0  # rows with errors
    new_leads: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: ImportCounts) -> None:
        """Fold another chunk's counts into these."""
        self.imported += other.imported
        self.already_enrolled += other.already_enrolled
        self.skipped += other.skipped
        self.new_leads += other.new_leads
        self.errors.extend(other.errors)

    def audit_detail(self) -> dict[str, int]:
        """The counts for the audit log (no personal data)."""
        return {
            "imported": self.imported,
            "already_enrolled": self.already_enrolled,
            "skipped": self.skipped,
            "new_leads": self.new_leads,
        }


def safe_filename(name: str | None) -> str:
    """The upload's base name without folders or control characters, for evidence and pages."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:80] or "upload.csv"


def active_campaigns(session: Session) -> list[Campaign]:
    """Campaigns an import can enrol leads in, by name."""
    return list(
        session.scalars(
            select(Campaign)
            .where(
                Campaign.status == CampaignStatus.ACTIVE, Campaign.current_version_id.is_not(None)
            )
            .order_by(Campaign.name)
        )
    )


@dataclass(frozen=True, slots=True)
class _Accepted:
    row: CheckedRow
    target: CampaignTarget
    in_force: dict[Channel, bool]  # the lead's consent now (none when it is a new lead)


class LeadImporter:
    """Checks and imports one file's rows, chunk by chunk, remembering the emails seen."""

    def __init__(
        self,
        csv_file: CsvFile,
        mapping: Sequence[str],
        campaign: str,
        origin: ImportOrigin,
        settings: Settings,
    ) -> None:
        self.csv_file = csv_file
        self.mapping = tuple(mapping)
        self.campaign = campaign
        self.origin = origin
        self.settings = settings
        self.policy = SendingPolicy.from_settings(settings)
        self._first_row_for: dict[str, int] = {}
        self._targets: dict[str, CampaignTarget | str] = {}
        self._campaign_column = next(
            (h for h, f in zip(csv_file.headers, self.mapping, strict=True) if f == "campaign"),
            "Campaign",
        )

    @property
    def total(self) -> int:
        """Data rows in the file (blank ones included: they keep their numbers)."""
        return len(self.csv_file.rows)

    def chunks(self, size: int = CHUNK_SIZE, start: int = 0) -> Iterator[list[Row]]:
        """The rows from index `start` on, `size` at a time."""
        rows = list(self.csv_file.numbered())
        for first in range(start, len(rows), size):
            yield rows[first : first + size]

    def dry_run(self, session: Session, rows: Sequence[Row]) -> ImportCounts:
        """What importing these rows would do, writing nothing (imported = would import)."""
        accepted, errors = self._check(session, rows)
        return ImportCounts(imported=len(accepted), skipped=len(errors), errors=errors)

    def import_rows(self, session: Session, rows: Sequence[Row], now: datetime) -> ImportCounts:
        """Import the good rows (the caller commits); each row succeeds or fails alone."""
        accepted, errors = self._check(session, rows)
        counts = ImportCounts(errors=errors)
        for item in accepted:
            try:
                with session.begin_nested():
                    created, enrolled = self._import_one(session, item, now)
            except Exception as exc:  # one row's failure must not lose the chunk
                # The exception text may quote the row's values: log only its type.
                logger.warning("import row %d not saved: %s", item.row.number, type(exc).__name__)
                message = "could not be saved (a database error); nothing from this row was kept"
                counts.errors.append(RowError(item.row.number, "", message))
                continue
            counts.new_leads += created
            if enrolled:
                counts.imported += 1
            else:
                counts.already_enrolled += 1
        counts.skipped = len(counts.errors)
        counts.errors.sort(key=lambda e: e.row)
        return counts

    def _import_one(self, session: Session, item: _Accepted, now: datetime) -> tuple[bool, bool]:
        lead, created = upsert_lead(session, item.row.lead, self.origin.source, now)
        wanted = {
            Channel.EMAIL: item.row.lead.consent.email,
            Channel.SMS: item.row.lead.consent.sms,
        }
        for channel, agreed in wanted.items():
            if agreed and not item.in_force[channel]:
                grant(
                    session,
                    lead.id,
                    channel,
                    self.origin.evidence(),
                    now,
                    self.settings.clinic_name,
                )
        enrolled = enrol_lead(session, lead, item.target, now, self.settings, self.policy)
        # In the row's savepoint: a row that fails to save announces nothing.
        result = CaptureResult(lead.id, lead.public_id, created, enrolled)
        announce_capture(session, result, item.row.lead, self.origin.source, now)
        return created, enrolled

    def _check(
        self, session: Session, rows: Sequence[Row]
    ) -> tuple[list[_Accepted], list[RowError]]:
        errors: list[RowError] = []
        accepted: list[_Accepted] = []
        checked_rows: list[tuple[CheckedRow, CampaignTarget]] = []
        headers = self.csv_file.headers
        email_column = next(h for h, f in zip(headers, self.mapping, strict=True) if f == "email")
        for number, cells in rows:
            if is_blank(cells):
                continue
            checked = check_row(headers, self.mapping, number, cells)
            if isinstance(checked, list):
                errors.extend(checked)
                continue
            target = self._target(session, checked.campaign or self.campaign)
            if isinstance(target, str):
                errors.append(RowError(number, self._campaign_column, target))
                continue
            first = self._first_row_for.get(checked.lead.email)
            if first is not None:
                message = f"the same address as row {first}; only the first is imported"
                errors.append(RowError(number, email_column, message))
                continue
            self._first_row_for[checked.lead.email] = number
            checked_rows.append((checked, target))
        latest = self._latest_actions(session, [row.lead.email for row, _ in checked_rows])
        for row, target in checked_rows:
            actions = latest.get(row.lead.email, {})
            refused = self._opted_out(row, actions)
            if refused is not None:
                errors.append(refused)
                continue
            in_force = consent_in_force(actions.get(Channel.EMAIL), actions.get(Channel.SMS))
            accepted.append(_Accepted(row, target, in_force))
        errors.sort(key=lambda e: e.row)
        return accepted, errors

    def _target(self, session: Session, slug: str) -> CampaignTarget | str:
        if slug not in self._targets:
            try:
                self._targets[slug] = active_campaign(session, slug)
            except CampaignRefused as exc:
                self._targets[slug] = str(exc)
        return self._targets[slug]

    @staticmethod
    def _latest_actions(
        session: Session, emails: Sequence[str]
    ) -> dict[str, dict[Channel, str | None]]:
        """Per existing lead among `emails`, its newest ledger action per channel: one query."""
        if not emails:
            return {}
        rows = session.execute(
            select(
                Lead.email,
                latest_action(Lead.id, Channel.EMAIL),
                latest_action(Lead.id, Channel.SMS),
            ).where(Lead.email.in_(emails))
        )
        return {email: {Channel.EMAIL: e, Channel.SMS: s} for email, e, s in rows}

    def _opted_out(self, row: CheckedRow, actions: dict[Channel, str | None]) -> RowError | None:
        """A row granting a channel the person opted out of: a list cannot opt them back in."""
        column_for = {f: h for h, f in zip(self.csv_file.headers, self.mapping, strict=True) if f}
        consent = row.lead.consent
        for channel, agreed, column in (
            (Channel.EMAIL, consent.email, column_for.get("email_consent", "")),
            (Channel.SMS, consent.sms, column_for.get("sms_consent", "")),
        ):
            if agreed and actions.get(channel) == ConsentAction.REVOKED:
                noun = "emails" if channel is Channel.EMAIL else "text messages"
                message = (
                    f"this person opted out of {noun}; an import cannot opt them back in "
                    "(they can sign up again themselves)"
                )
                return RowError(row.number, column, message)
        return None
