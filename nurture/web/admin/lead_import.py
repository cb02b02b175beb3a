"""Console pages: importing leads from a CSV, with a mapping preview and a progress page.

Upload -> preview (the file kept server-side under a random id, the column mapping
guessed, a dry run of every row) -> run (a background job, a chunk per commit) ->
the job page, which shows progress until the counts and the skipped rows are in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from nurture.config import Settings
from nurture.leads.capture import CampaignRefused, active_campaign
from nurture.leads.importing.csv_file import (
    FIELDS,
    NOT_IMPORTED,
    CsvFile,
    CsvProblem,
    guess_mapping,
    mapping_problems,
    read_csv,
)
from nurture.leads.importing.jobs import (
    ImportJob,
    create_job,
    find_job,
    job_errors,
    progress,
    recent_jobs,
    start_import_thread,
)
from nurture.leads.importing.run import (
    ImportCounts,
    ImportOrigin,
    LeadImporter,
    active_campaigns,
    safe_filename,
)
from nurture.leads.importing.uploads import UploadMissing, read_upload, save_upload
from nurture.spreadsheet import neutralise
from nurture.staff.models import StaffUser
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import LeadsUser, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, get_session_factory

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SAMPLE_ROWS = 5
PREVIEW_ERRORS = 10
PAGE_ERRORS = 200
SECTION = "leads"


async def _form(request: Request) -> FormData:
    # Read here so the handlers can stay synchronous (they run in the threadpool).
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _upload_form(
    request: Request, user: StaffUser, session: Session, problems: list[str], campaign: str = ""
) -> Response:
    context = {
        "campaigns": active_campaigns(session),
        "chosen": campaign,
        "problems": problems,
        "jobs": recent_jobs(session),
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    status = 400 if problems else 200
    return admin_page(request, user, "leads/import.html", context, status, section=SECTION)


@router.get("/leads/import")
def import_form(request: Request, user: LeadsUser, session: SessionDep) -> Response:
    """The upload form: a CSV file and the campaign its leads join."""
    return _upload_form(request, user, session, [])


def _mapping_from(form: FormData, csv_file: CsvFile) -> tuple[str, ...]:
    """The mapping the preview's selects sent; the guess for any column not sent."""
    guessed = guess_mapping(csv_file.headers)
    chosen = []
    for index, guess in enumerate(guessed):
        value = form.get(f"map-{index}")
        chosen.append(value if isinstance(value, str) else guess)
    return tuple(chosen)


def _dry_run(session: Session, importer: LeadImporter) -> ImportCounts:
    counts = ImportCounts()
    for rows in importer.chunks():
        counts.add(importer.dry_run(session, rows))
    return counts


def _problems(
    session: Session, csv_file: CsvFile, mapping: tuple[str, ...], campaign: str
) -> list[str]:
    """What stops the import from starting: the campaign, then the mapping."""
    problems = mapping_problems(csv_file.headers, mapping)
    if not campaign:
        return ["Campaign: choose one.", *problems]
    try:
        active_campaign(session, campaign)
    except CampaignRefused as exc:
        return [f"Campaign: {exc}.", *problems]
    return problems


@dataclass(frozen=True, slots=True)
class Stored:
    """An upload kept server-side: its id, the file's name as shown, and its rows."""

    upload_id: str
    filename: str
    csv_file: CsvFile


def _preview(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    stored: Stored,
    mapping: tuple[str, ...],
    campaign: str,
) -> Response:
    upload_id, filename, csv_file = stored.upload_id, stored.filename, stored.csv_file
    problems = _problems(session, csv_file, mapping, campaign)
    counts = None
    if not problems:
        origin = ImportOrigin(filename, actor(request, user))
        counts = _dry_run(session, LeadImporter(csv_file, mapping, campaign, origin, settings))
    context = {
        "upload_id": upload_id,
        "filename": filename,
        "campaigns": active_campaigns(session),
        "chosen": campaign,
        "headers": csv_file.headers,
        "mapping": mapping,
        "fields": FIELDS,
        "not_imported": NOT_IMPORTED,
        "samples": list(csv_file.numbered())[:SAMPLE_ROWS],
        "rows": len(csv_file.rows),
        "counts": counts,
        "first_errors": counts.errors[:PREVIEW_ERRORS] if counts else [],
        "problems": problems,
    }
    status = 400 if problems else 200
    return admin_page(request, user, "leads/import_preview.html", context, status, section=SECTION)


@router.post("/leads/import/preview")
def preview(
    request: Request,
    user: LeadsUser,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
) -> Response:
    """Keep the upload, guess the mapping and dry-run every row (or re-check a changed mapping)."""
    campaign = _text(form, "campaign")
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            problem = f"File: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it."
            return _upload_form(request, user, session, [problem], campaign)
        try:
            csv_file = read_csv(data)
        except CsvProblem as exc:
            return _upload_form(request, user, session, [f"File: {exc}"], campaign)
        upload_id = save_upload(settings.data_dir, data)
        stored = Stored(upload_id, safe_filename(upload.filename), csv_file)
        mapping = guess_mapping(csv_file.headers)
    else:
        try:
            stored = _stored(form, settings)
        except UploadMissing:
            return _upload_form(request, user, session, ["File: choose a CSV file."], campaign)
        mapping = _mapping_from(form, stored.csv_file)
    return _preview(request, user, session, settings, stored, mapping, campaign)


def _stored(form: FormData, settings: Settings) -> Stored:
    """The upload a preview form refers to; UploadMissing when there is none any more."""
    upload_id = _text(form, "upload_id")
    # Only files that were read as CSV once are stored, so this parse succeeds.
    csv_file = read_csv(read_upload(settings.data_dir, upload_id))
    return Stored(upload_id, safe_filename(_text(form, "filename")), csv_file)


@router.post("/leads/import/run")
def run(
    request: Request,
    user: LeadsUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    factory: FactoryDep,
    background: BackgroundTasks,
    form: FormDep,
) -> Response:
    """Start the import with the chosen mapping; its page shows the progress."""
    campaign = _text(form, "campaign")
    try:
        stored = _stored(form, settings)
    except UploadMissing:
        problem = "File: the upload has expired or was imported already; upload it again."
        return _upload_form(request, user, session, [problem], campaign)
    mapping = _mapping_from(form, stored.csv_file)
    if _problems(session, stored.csv_file, mapping, campaign):
        return _preview(request, user, session, settings, stored, mapping, campaign)
    job = create_job(
        session,
        upload_id=stored.upload_id,
        filename=stored.filename,
        campaign=campaign,
        mapping=mapping,
        total=len(stored.csv_file.rows),
        actor=actor(request, user),
        now=clock.now(),
    )
    session.commit()
    # Started after the response: a background task that ran the whole file itself would
    # hold the browser's keep-alive connection, and the progress page behind it, till the end.
    background.add_task(start_import_thread, factory, job.id, clock, settings)
    return redirect_with_notice(request, f"/admin/leads/import/{job.public_id}", "Import started.")


def _job(session: Session, job_id: str) -> ImportJob:
    job = find_job(session, job_id)
    if job is None:
        raise HTTPException(404)
    return job


@router.get("/leads/import/{job_id}")
def job_page(request: Request, user: LeadsUser, session: SessionDep, job_id: str) -> Response:
    """How far the import has got; once done, its counts and the rows it skipped."""
    job = _job(session, job_id)
    context = {
        "job": job,
        "errors": job_errors(session, job.id, PAGE_ERRORS) if job.done else [],
        "shown_errors": PAGE_ERRORS,
    }
    return admin_page(request, user, "leads/import_job.html", context, section=SECTION)


@router.get("/leads/import/{job_id}/errors.csv")
def job_errors_csv(user: LeadsUser, session: SessionDep, job_id: str) -> Response:
    """The skipped rows as a CSV: row, column, problem."""
    job = _job(session, job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "problem"])
    for error in job_errors(session, job.id):
        writer.writerow([error.row, neutralise(error.column), neutralise(error.message)])
    name = f"import-{job.public_id}-errors.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/api/imports/{job_id}")
def job_progress(user: LeadsUser, session: SessionDep, job_id: str) -> JSONResponse:
    """The job's progress for the page's script: processed, total, counts, done."""
    job = find_job(session, job_id)
    if job is None:
        return JSONResponse({"detail": "No such import."}, 404)
    return JSONResponse(progress(job), headers={"Cache-Control": "no-store"})
