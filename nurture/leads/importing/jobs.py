"""An import running in the background: its progress and row errors, kept in the database.

The console starts a job and shows its page at once; the job works through the
file a chunk per transaction, updating its counts, so the page can show progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from nurture.clock import Clock
from nurture.config import Settings
from nurture.db import Base, EnumText
from nurture.leads.importing.csv_file import CsvProblem, read_csv
from nurture.leads.importing.rows import RowError
from nurture.leads.importing.run import CHUNK_SIZE, ImportCounts, ImportOrigin, LeadImporter
from nurture.leads.importing.uploads import UploadMissing, delete_upload, read_upload
from nurture.leads.models import new_public_id
from nurture.staff.service import Actor, record_audit

logger = logging.getLogger(__name__)
THREAD_PREFIX = "lead-import-"
# SQLite has one writer, and a page view also takes the write lock (BEGIN IMMEDIATE):
# short chunks with a pause between them keep the console usable during a big import.
SQLITE_CHUNK_SIZE = 100
SQLITE_PAUSE_SECONDS = 0.25


class ImportJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    """One CSV import started from the console: what, by whom, and how far it has got."""

    __tablename__ = "lead_import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    upload_id: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(80))
    campaign_slug: Mapped[str] = mapped_column(String(80))
    mapping: Mapped[list[str]] = mapped_column(JSON)
    # No foreign key, as in the audit log: the record outlives the staff account.
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(320))
    actor_ip: Mapped[str | None] = mapped_column(String(45))
    status: Mapped[ImportJobStatus] = mapped_column(
        EnumText(ImportJobStatus, 12), default=ImportJobStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    already_enrolled: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    new_leads: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    @property
    def done(self) -> bool:
        """Whether the job has stopped, finished or failed."""
        return self.status in (ImportJobStatus.DONE, ImportJobStatus.FAILED)


class ImportRowProblem(Base):
    """A row an import skipped, and why."""

    __tablename__ = "lead_import_errors"
    __table_args__ = (Index("ix_lead_import_errors_job_row", "job_id", "row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("lead_import_jobs.id", ondelete="CASCADE"))
    row: Mapped[int]
    column: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(String(500))


def create_job(
    session: Session,
    *,
    upload_id: str,
    filename: str,
    campaign: str,
    mapping: Sequence[str],
    total: int,
    actor: Actor,
    now: datetime,
) -> ImportJob:
    """A queued job for an uploaded file (the caller commits, then starts run_import_job)."""
    job = ImportJob(
        upload_id=upload_id,
        filename=filename,
        campaign_slug=campaign,
        mapping=list(mapping),
        actor_id=actor.id,
        actor=actor.name[:320],
        actor_ip=actor.ip,
        status=ImportJobStatus.QUEUED,
        total=total,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def find_job(session: Session, public_id: str) -> ImportJob | None:
    """The job with this public id, if any."""
    return session.scalars(select(ImportJob).where(ImportJob.public_id == public_id)).one_or_none()


def recent_jobs(session: Session, limit: int = 10) -> list[ImportJob]:
    """The newest jobs first."""
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def job_errors(session: Session, job_id: int, limit: int | None = None) -> list[ImportRowProblem]:
    """The job's skipped rows in row order (all of them, or the first `limit`)."""
    query = (
        select(ImportRowProblem)
        .where(ImportRowProblem.job_id == job_id)
        .order_by(ImportRowProblem.row, ImportRowProblem.id)
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def progress(job: ImportJob) -> dict[str, Any]:
    """What the progress display needs, with no personal data."""
    return {
        "status": job.status,
        "processed": job.processed,
        "total": job.total,
        "imported": job.imported,
        "already_enrolled": job.already_enrolled,
        "skipped": job.skipped,
        "done": job.done,
    }


def job_actor(job: ImportJob) -> Actor:
    """The member of staff who started the job, as the audit log names them."""
    return Actor(job.actor, job.actor_id, job.actor_ip)


class JobRun:
    """A queued job being worked through, one chunk per call to step()."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        job_id: int,
        settings: Settings,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.factory = factory
        self.job_id = job_id
        with factory.begin() as session:
            job = session.get_one(ImportJob, job_id)
            csv_file = read_csv(read_upload(settings.data_dir, job.upload_id))
            origin = ImportOrigin(job.filename, job_actor(job))
            self.importer = LeadImporter(csv_file, job.mapping, job.campaign_slug, origin, settings)
            job.status = ImportJobStatus.RUNNING
            job.total = self.importer.total
        self._chunks = self.importer.chunks(chunk_size)

    def step(self, now: datetime) -> bool:
        """Import the next chunk and record the progress; False once the job has finished."""
        rows = next(self._chunks, None)
        with self.factory.begin() as session:
            job = session.get_one(ImportJob, self.job_id)
            if rows is None:
                _finish(session, job, now)
                return False
            counts = self.importer.import_rows(session, rows, now)
            _record(session, job, len(rows), counts)
        return True


def _record(session: Session, job: ImportJob, rows: int, counts: ImportCounts) -> None:
    job.processed += rows
    job.imported += counts.imported
    job.already_enrolled += counts.already_enrolled
    job.skipped += counts.skipped
    job.new_leads += counts.new_leads
    session.add_all(_problems(job.id, counts.errors))


def _problems(job_id: int, errors: Sequence[RowError]) -> list[ImportRowProblem]:
    return [
        ImportRowProblem(job_id=job_id, row=e.row, column=e.column[:200], message=e.message[:500])
        for e in errors
    ]


def _finish(session: Session, job: ImportJob, now: datetime) -> None:
    job.status = ImportJobStatus.DONE
    job.finished_at = now
    detail: dict[str, Any] = {
        "campaign": job.campaign_slug,
        "rows": job.total,
        "imported": job.imported,
        "already_enrolled": job.already_enrolled,
        "skipped": job.skipped,
        "new_leads": job.new_leads,
    }
    record_audit(session, job_actor(job), "leads.imported", now, job.public_id, detail)


def _fail(factory: sessionmaker[Session], job_id: int, reason: str, now: datetime) -> None:
    with factory.begin() as session:
        job = session.get_one(ImportJob, job_id)
        job.status = ImportJobStatus.FAILED
        job.failure = reason[:300]
        job.finished_at = now
        detail = {"campaign": job.campaign_slug, "failed": True, "processed": job.processed}
        record_audit(session, job_actor(job), "leads.imported", now, job.public_id, detail)


def _pace(factory: sessionmaker[Session]) -> tuple[int, float]:
    """Rows per transaction, and the pause between transactions, for this database."""
    with factory() as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
    return (SQLITE_CHUNK_SIZE, SQLITE_PAUSE_SECONDS) if sqlite else (CHUNK_SIZE, 0.0)


def run_import_job(
    factory: sessionmaker[Session],
    job_id: int,
    clock: Clock,
    settings: Settings,
) -> None:
    """Work a queued job through to the end (a background task); the upload is then deleted."""
    chunk_size, pause = _pace(factory)
    try:
        run = JobRun(factory, job_id, settings, chunk_size)
        while run.step(clock.now()):
            time.sleep(pause)
    except UploadMissing:
        _fail(factory, job_id, "The uploaded file is gone; upload it again.", clock.now())
    except CsvProblem as exc:
        _fail(factory, job_id, str(exc), clock.now())
    except Exception as exc:
        # The text may quote a row's values: log the type only, and say so on the page.
        logger.error("import job %d failed: %s", job_id, type(exc).__name__)
        reason = "The import stopped on an unexpected error; the rows imported so far are kept."
        _fail(factory, job_id, reason, clock.now())
    finally:
        with factory() as session:
            upload_id = session.scalar(select(ImportJob.upload_id).where(ImportJob.id == job_id))
        if upload_id:
            delete_upload(settings.data_dir, upload_id)


def start_import_thread(
    factory: sessionmaker[Session], job_id: int, clock: Clock, settings: Settings
) -> threading.Thread:
    """Run the job on a thread of its own, so the request that started it can finish.

    Not daemonic: a server shutting down waits for the import instead of cutting it off.
    """
    thread = threading.Thread(
        target=run_import_job,
        args=(factory, job_id, clock, settings),
        name=f"{THREAD_PREFIX}{job_id}",
    )
    thread.start()
    return thread
