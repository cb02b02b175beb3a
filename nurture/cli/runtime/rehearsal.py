"""The demo: three prospects go through the whole sequence, on real code and accelerated time.

Everything runs the production path: leads come in through the capture service,
`nurture.dispatch`, `nurture.deliver` and `nurture.send_webhooks` run on a Celery worker
in this process (the memory broker), the gate decides, and the console channels write
the .eml files and the SMS log. Prospects' replies are texts posted, signed, to the app's own Twilio
webhook, and the clinic's answers are the TwiML it returns. Only time is rehearsed:
a manual clock that jumps to the next due moment whenever the queue is idle, so each
message goes out, and each reply comes in, exactly when it is due.
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

from nurture.campaigns.check import check_campaign, sync_checked
from nurture.campaigns.definition import campaign_dirs
from nurture.cli.runtime.aftermath import Aftermath, aftermath
from nurture.cli.runtime.scope import settings_scope
from nurture.cli.runtime.texting import TwilioWebhookPhone, webhook_phone
from nurture.cli.runtime.threads import TaskTracker, embedded_worker, use_memory_broker
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.consent.policy import SendingPolicy
from nurture.db import get_sessionmaker
from nurture.leads.admin import CampaignTimeline, lead_timelines
from nurture.leads.capture import capture_lead
from nurture.leads.models import Lead
from nurture.leads.submission import ConsentChoice, LeadSubmission
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.migrate import migrate
from nurture.replies.models import InboundMessage
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.webhooks_out.sender import next_attempt_due

DEMO_ARTICLE = "tight-hamstrings-sciatic-nerve"
DEMO_CAMPAIGN = "hamstring-sciatica"
# Signs the demo's own webhook requests; it never leaves this process.
DEMO_TWILIO_AUTH_TOKEN = "demo-only-twilio-auth-token"  # noqa: S105
DEMO_FRONT_DESK = "frontdesk@riverside-pt.example"
IDLE_TIMEOUT_SECONDS = 60.0
# Far more rounds than three 10-step sequences need; reaching it means something loops.
MAX_ROUNDS = 500
# Rounds in a row that leave due work undone before the demo gives up.
STALL_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class ScriptedText:
    """A text the prospect sends `after` the previous one was answered (or the step was sent)."""

    body: str
    after: timedelta
    # The body is the number of an option the clinic's last answer must have listed.
    picks_option: bool = False


@dataclass(frozen=True, slots=True)
class DemoLead:
    first_name: str
    email: str
    phone: str | None
    timezone: str
    sms: bool
    signs_up_after: timedelta = timedelta(0)  # from the start of the rehearsal
    replies_to_step: str | None = None  # starts texting once this step's text was sent
    texts: tuple[ScriptedText, ...] = ()


DEMO_LEADS = (
    DemoLead(
        "Jordan",
        "jordan@example.com",
        "+1 217 555 0100",
        "America/Chicago",
        sms=True,
        replies_to_step="sms-screening-invite",
        texts=(
            ScriptedText("Yes, I'd like to book", timedelta(hours=1)),
            ScriptedText("2", timedelta(minutes=3), picks_option=True),
        ),
    ),
    DemoLead(
        "Sam",
        "sam@example.com",
        None,
        "America/New_York",
        sms=False,
        signs_up_after=timedelta(minutes=30),
    ),
    DemoLead(
        "Riley",
        "riley@example.com",
        "+1 303 555 0144",
        "America/Denver",
        sms=True,
        signs_up_after=timedelta(hours=1),
        replies_to_step="sms-hello",
        texts=(ScriptedText("STOP", timedelta(minutes=20)),),
    ),
)


class RehearsalError(RuntimeError):
    """The demo could not run; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One text in, as the webhook recorded it, and the clinic's answer in the HTTP response."""

    at: datetime
    text: str
    intent: str | None  # what the product read it as (the inbound row's intent)
    answers: list[str]


@dataclass(slots=True)
class RehearsedLead:
    lead: DemoLead
    lead_id: int | None = None
    conversation: list[Exchange] = field(default_factory=list)
    timelines: list[CampaignTimeline] = field(default_factory=list)
    aftermath: Aftermath | None = None


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
        "TWILIO_AUTH_TOKEN": DEMO_TWILIO_AUTH_TOKEN,
        "FRONT_DESK_EMAIL": DEMO_FRONT_DESK,
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


def _next_text_time(session: Session, rehearsed: RehearsedLead) -> datetime | None:
    """When the prospect sends their next scripted text; None: nothing (yet) to send."""
    lead, done = rehearsed.lead, len(rehearsed.conversation)
    if rehearsed.lead_id is None or done >= len(lead.texts):
        return None
    if rehearsed.conversation:
        return rehearsed.conversation[-1].at + lead.texts[done].after
    sent_at = session.scalar(
        select(Message.sent_at).where(
            Message.lead_id == rehearsed.lead_id,
            Message.kind == MessageKind.CAMPAIGN,
            Message.step_key == lead.replies_to_step,
            Message.status.in_([MessageStatus.SENT, MessageStatus.DELIVERED]),
        )
    )
    return sent_at + lead.texts[done].after if sent_at else None


def _offers(answers: list[str], number: str) -> bool:
    return any(line.strip().startswith(f"{number})") for a in answers for line in a.splitlines())


def _send_text(
    factory: sessionmaker[Session],
    phone: TwilioWebhookPhone,
    rehearsed: RehearsedLead,
    now: datetime,
) -> None:
    scripted = rehearsed.lead.texts[len(rehearsed.conversation)]
    name = rehearsed.lead.first_name
    with factory() as session:
        sender = session.get_one(Lead, rehearsed.lead_id).phone
    if sender is None:
        raise RehearsalError(f"{name} has no phone number to text from")
    if scripted.picks_option:
        earlier = rehearsed.conversation[-1].answers if rehearsed.conversation else []
        if not _offers(earlier, scripted.body):
            raise RehearsalError(
                f"{name} was to choose option {scripted.body}, but the clinic's answer "
                f"offered none: {earlier!r} (are screening times open? "
                "see `nurture bookings availability show`)"
            )
    answer = phone.text(sender, scripted.body)
    if answer.status != 200:
        raise RehearsalError(
            f"the SMS webhook answered {name}'s text with HTTP {answer.status}: "
            f"{answer.body[:200]!r}"
        )
    with factory() as session:
        intent = session.scalar(
            select(InboundMessage.intent).where(
                InboundMessage.provider == "twilio", InboundMessage.provider_id == answer.sid
            )
        )
    rehearsed.conversation.append(Exchange(now, scripted.body, intent, answer.answers))


def next_due(session: Session) -> datetime | None:
    """When the pipeline next has work: a sequence step, a held message or a webhook post
    (a retry's wait included). None: nothing is owed, so the rehearsal may end."""
    enrollment = session.scalar(
        select(func.min(Enrollment.next_due_at)).where(Enrollment.status == EnrollmentStatus.ACTIVE)
    )
    held = session.scalar(
        select(func.min(Message.due_at)).where(Message.status == MessageStatus.HELD)
    )
    webhook = next_attempt_due(session)
    return min((t for t in (enrollment, held, webhook) if t is not None), default=None)


def _run_scripted(
    factory: sessionmaker[Session],
    settings: Settings,
    phone: TwilioWebhookPhone,
    leads: list[RehearsedLead],
    start: datetime,
    now: datetime,
) -> list[datetime]:
    """Sign-ups and texts whose time has come; returns the times still ahead."""
    ahead = []
    for rehearsed in leads:
        signs_up = start + rehearsed.lead.signs_up_after
        if rehearsed.lead_id is None:
            if signs_up <= now:
                rehearsed.lead_id = _capture(factory, settings, rehearsed.lead, now)
            else:
                ahead.append(signs_up)
                continue
        while True:
            with factory() as session:
                texts_at = _next_text_time(session, rehearsed)
            if texts_at is None:
                break
            if texts_at > now:
                ahead.append(texts_at)
                break
            _send_text(factory, phone, rehearsed, now)
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
    from nurture.web.app import create_app
    from workers import tasks
    from workers.celery_app import app
    from workers.context import WorkerContext, use_context

    with settings_scope(demo_environment(base)) as settings:
        clock = ManualClock(start)
        _prepare(settings, clock.now())
        factory = get_sessionmaker()
        web = create_app()
        web.state.clock = clock  # the webhook records replies at the rehearsal's time
        leads = [RehearsedLead(lead) for lead in DEMO_LEADS]
        use_memory_broker(app, polling_interval=0.005)
        use_context(WorkerContext(clock=clock))
        rounds = stalled = 0
        try:
            with (
                TaskTracker().connected() as tracker,
                embedded_worker(app),
                webhook_phone(web, settings) as phone,
            ):
                while True:
                    rounds += 1
                    if rounds > MAX_ROUNDS:
                        raise RehearsalError(f"the sequence did not finish in {MAX_ROUNDS} rounds")
                    ahead = _run_scripted(factory, settings, phone, leads, start, clock.now())
                    tasks.dispatch.delay()
                    tasks.send_webhooks.delay()  # beat's other tick: the webhooks owed
                    if not tracker.wait_idle(IDLE_TIMEOUT_SECONDS):
                        raise RehearsalError("the worker did not finish its tasks in time")
                    if tracker.failures:
                        raise RehearsalError("a task failed: " + "; ".join(tracker.failures))
                    with factory() as session:
                        due = next_due(session)
                        ahead += [t for t in (due,) if t is not None]
                        ahead += [
                            t for r in leads if (t := _next_text_time(session, r)) is not None
                        ]
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
            use_context(None)
        with factory() as session:
            policy = SendingPolicy.from_settings(settings)
            for rehearsed in leads:
                if rehearsed.lead_id is not None:
                    lead = session.get_one(Lead, rehearsed.lead_id)
                    rehearsed.timelines = lead_timelines(
                        session, lead, settings.clinic_zone, policy
                    )
                    rehearsed.aftermath = aftermath(session, settings, lead)
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
