"""The demo: two prospects go through the whole sequence, on real code and accelerated time.

Everything runs the production path: leads come in through the capture service,
`nurture.dispatch` and `nurture.deliver` run on a Celery worker in this process (the
memory broker), the gate decides, and the console channels write the .eml files and
the SMS log. Only time is rehearsed: a manual clock that jumps to the next due
moment whenever the queue is idle, so each message goes out exactly when it is due.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.service import book_screening
from nurture.campaigns.definition import campaign_dirs
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.leads.admin import CampaignTimeline, lead_timelines
from nurture.leads.capture import capture_lead
from nurture.leads.models import Lead
from nurture.leads.submission import ConsentChoice, LeadSubmission
from nurture.messages.models import Message, MessageStatus
from nurture.runtime.prepare import check_campaign, migrate, sync_checked
from nurture.runtime.scope import settings_scope
from nurture.runtime.threads import TaskTracker, embedded_worker, use_memory_broker
from nurture.sequences.models import Enrollment, EnrollmentStatus

DEMO_ARTICLE = "tight-hamstrings-sciatic-nerve"
DEMO_CAMPAIGN = "hamstring-sciatica"
IDLE_TIMEOUT_SECONDS = 60.0
# Far more rounds than two 10-step sequences need; reaching it means something loops.
MAX_ROUNDS = 500
# Rounds in a row that leave due work undone before the demo gives up.
STALL_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class DemoLead:
    first_name: str
    email: str
    phone: str | None
    timezone: str
    sms: bool
    signs_up_after: timedelta = timedelta(0)  # from the start of the rehearsal
    books_after_step: str | None = None  # books a screening once this step was sent
    books_delay: timedelta = timedelta(hours=1)


DEMO_LEADS = (
    DemoLead(
        "Jordan",
        "jordan@example.com",
        "+1 217 555 0100",
        "America/Chicago",
        sms=True,
        books_after_step="sms-screening-invite",
    ),
    DemoLead(
        "Sam",
        "sam@example.com",
        None,
        "America/New_York",
        sms=False,
        signs_up_after=timedelta(minutes=30),
    ),
)


class RehearsalError(RuntimeError):
    """The demo could not run; the message says why and what to do."""


@dataclass(slots=True)
class RehearsedLead:
    lead: DemoLead
    lead_id: int | None = None
    booked_at: datetime | None = None
    timelines: list[CampaignTimeline] = field(default_factory=list)


@dataclass(slots=True)
class RehearsalResult:
    directory: Path
    database: Path
    outbox_dir: Path
    sms_log: Path
    start: datetime
    end: datetime
    rounds: int
    leads: list[RehearsedLead]


Progress = Callable[[datetime], None]


def demo_environment(base: Settings) -> dict[str, str]:
    """The settings the demo runs with: its own folder, database, broker and console channels."""
    directory = base.data_dir / "demo"
    return {
        "NURTURE_DATA_DIR": str(directory),
        "DATABASE_URL": f"sqlite:///{directory / 'nurture.db'}",
        "CELERY_BROKER_URL": "memory://",
        # Whatever the environment says, a rehearsal never reaches a real provider.
        "EMAIL_CHANNEL": "console",
        "SMS_CHANNEL": "console",
        "NURTURE_TIME_SCALE": "1",
    }


def _prepare(settings: Settings, now: datetime) -> None:
    # settings.data_dir is <data dir>/demo here: the demo's own folder, emptied each run.
    if settings.data_dir.name == "demo" and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    for folder in campaign_dirs(settings.templates_dir):
        check = check_campaign(folder, settings.templates_dir)
        if check.definition is None or check.definition.spec.slug != DEMO_CAMPAIGN:
            continue
        if check.errors:
            raise RehearsalError(
                f"the demo campaign in {folder} has errors: "
                "run `nurture campaigns validate` to see them"
            )
        sync_checked(get_sessionmaker(), check, now)
        return
    raise RehearsalError(f"no campaign folder with slug {DEMO_CAMPAIGN!r} was found")


def _capture(
    factory: sessionmaker[Session], settings: Settings, lead: DemoLead, now: datetime
) -> int:
    submission = LeadSubmission(
        article=DEMO_ARTICLE,
        first_name=lead.first_name,
        email=lead.email,
        phone=lead.phone,
        timezone=lead.timezone,
        consent=ConsentChoice(email=True, sms=lead.sms),
    )
    with factory.begin() as session:
        result = capture_lead(session, submission, Evidence("demo"), now, settings)
    return result.lead_id


def _booking_time(session: Session, rehearsed: RehearsedLead) -> datetime | None:
    lead = rehearsed.lead
    if lead.books_after_step is None or rehearsed.lead_id is None or rehearsed.booked_at:
        return None
    sent_at = session.scalar(
        select(Message.sent_at).where(
            Message.lead_id == rehearsed.lead_id,
            Message.step_key == lead.books_after_step,
            Message.status.in_([MessageStatus.SENT, MessageStatus.DELIVERED]),
        )
    )
    return sent_at + lead.books_delay if sent_at else None


def _next_due(session: Session) -> datetime | None:
    enrollment = session.scalar(
        select(func.min(Enrollment.next_due_at)).where(Enrollment.status == EnrollmentStatus.ACTIVE)
    )
    held = session.scalar(
        select(func.min(Message.due_at)).where(Message.status == MessageStatus.HELD)
    )
    return min((t for t in (enrollment, held) if t is not None), default=None)


def _run_scripted(
    factory: sessionmaker[Session],
    settings: Settings,
    leads: list[RehearsedLead],
    start: datetime,
    now: datetime,
) -> list[datetime]:
    """Sign-ups and bookings whose time has come; returns the times still ahead."""
    ahead = []
    for rehearsed in leads:
        signs_up = start + rehearsed.lead.signs_up_after
        if rehearsed.lead_id is None:
            if signs_up <= now:
                rehearsed.lead_id = _capture(factory, settings, rehearsed.lead, now)
            else:
                ahead.append(signs_up)
                continue
        with factory() as session:
            books = _booking_time(session, rehearsed)
        if books is None:
            continue
        if books <= now:
            with factory.begin() as session:
                book_screening(session, rehearsed.lead_id, source="demo", now=now)
            rehearsed.booked_at = now
        else:
            ahead.append(books)
    return ahead


def rehearse(
    base: Settings,
    start: datetime,
    *,
    pace: timedelta | None = None,
    progress: Progress | None = None,
) -> RehearsalResult:
    """Run the demo under `<data dir>/demo`; `pace` is virtual time per real second."""
    # Imported here: the tasks module builds the Celery app, which only the demo needs.
    from workers import tasks
    from workers.celery_app import app

    with settings_scope(demo_environment(base)) as settings:
        clock = ManualClock(start)
        _prepare(settings, clock.now())
        factory = get_sessionmaker()
        leads = [RehearsedLead(lead) for lead in DEMO_LEADS]
        use_memory_broker(app, polling_interval=0.005)
        tasks.use_clock(clock)
        rounds = stalled = 0
        try:
            with TaskTracker().connected() as tracker, embedded_worker(app):
                while True:
                    rounds += 1
                    if rounds > MAX_ROUNDS:
                        raise RehearsalError(f"the sequence did not finish in {MAX_ROUNDS} rounds")
                    ahead = _run_scripted(factory, settings, leads, start, clock.now())
                    tasks.dispatch.delay()
                    if not tracker.wait_idle(IDLE_TIMEOUT_SECONDS):
                        raise RehearsalError("the worker did not finish its tasks in time")
                    if tracker.failures:
                        raise RehearsalError("a task failed: " + "; ".join(tracker.failures))
                    with factory() as session:
                        due = _next_due(session)
                        ahead += [t for t in (due,) if t is not None]
                        ahead += [t for r in leads if (t := _booking_time(session, r)) is not None]
                    if not ahead:
                        break
                    following = max(min(ahead), clock.now())
                    stalled = stalled + 1 if following == clock.now() else 0
                    if stalled > STALL_ROUNDS:
                        raise RehearsalError(
                            f"work due at {following:%Y-%m-%d %H:%M} UTC is not being done"
                        )
                    if pace is not None:
                        time.sleep((following - clock.now()) / pace)
                    clock.set(following)
                    if progress is not None:
                        progress(following)
        finally:
            tasks.use_clock(None)
        with factory() as session:
            for rehearsed in leads:
                if rehearsed.lead_id is not None:
                    lead = session.get_one(Lead, rehearsed.lead_id)
                    rehearsed.timelines = lead_timelines(
                        session, lead, settings.clinic_zone, SendingPolicy.from_settings(settings)
                    )
        return RehearsalResult(
            directory=settings.data_dir,
            database=settings.data_dir / "nurture.db",
            outbox_dir=settings.outbox_dir,
            sms_log=settings.sms_log_path,
            start=start,
            end=clock.now(),
            rounds=rounds,
            leads=leads,
        )
