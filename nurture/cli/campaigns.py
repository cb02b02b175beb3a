"""`nurture campaigns`: check, store, preview and time campaign folders; status, export, import."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from nurture.campaigns.archive import MAX_ARCHIVE_BYTES
from nurture.campaigns.check import CampaignCheck, check_campaign, sync_checked
from nurture.campaigns.conditions import OPENS_NOTHING, parse_behaviour
from nurture.campaigns.definition import CampaignDefinition, campaign_dirs
from nurture.campaigns.exchange import FolderExists, write_folder
from nurture.campaigns.importing import ImportRefused, import_folder, import_zip
from nurture.campaigns.lifecycle import (
    StatusChangeRefused,
    UnknownCampaign,
    change_status,
    find_campaign,
)
from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion
from nurture.campaigns.preview import SAMPLE_PUBLIC_ID, headline
from nurture.campaigns.sample_variants import (
    PICK_FORMAT,
    parse_picks,
    shown_variants,
    written_for_sample,
)
from nurture.campaigns.spec import StepSpec
from nurture.campaigns.sync import load_version
from nurture.campaigns.validate import sample_context
from nurture.channel import Channel
from nurture.cli.context import cli_actor, cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.cli.tables import entry
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.leads.submission import normalise_phone
from nurture.leads.zone import valid_zone
from nurture.links import article_url, booking_url, preferences_url, unsubscribe_url
from nurture.messages.render import (
    Clinic,
    MessageContext,
    TemplateProblem,
    render_email,
    render_sms,
)
from nurture.messages.segments import count_segments
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.timing import plan_steps
from nurture.text import local_time

app = typer.Typer(help="Campaign folders: validate, sync, preview, timeline.", no_args_is_help=True)

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Campaign folders (default: every folder under templates/campaigns)."),
]


def _folders(settings: Settings, paths: list[Path] | None) -> list[Path]:
    if paths:
        return paths
    root = settings.templates_dir / "campaigns"
    if not root.is_dir():
        fail(f"{root} does not exist: set NURTURE_TEMPLATES_DIR or pass campaign folders")
    return campaign_dirs(settings.templates_dir)


def _sms_table(definition: CampaignDefinition) -> Table | None:
    table = Table(title="SMS steps (sample name of 12 letters)", title_justify="left")
    for column in ("step", "template", "encoding", "units", "segments"):
        table.add_column(column, justify="right" if column in ("units", "segments") else "left")
    limit, sample = definition.spec.sms_max_segments, sample_context(definition)
    for step in definition.spec.steps:
        if step.channel is not Channel.SMS or step.task is not None:
            continue  # a task's note is read by the desk, not counted by a carrier
        try:
            count = count_segments(render_sms(definition, step, sample))
        except TemplateProblem:
            table.add_row(step.key, step.template, "-", "-", "[red]does not render[/]")
            continue
        colour = "red" if count.segments > limit else "green"
        table.add_row(
            step.key,
            escape(step.template),
            count.encoding if count.encoding == "GSM-7" else f"[yellow]{count.encoding}[/]",
            str(count.units),
            f"[{colour}]{count.segments}[/] of {limit}",
        )
    return table if table.row_count else None


def _report(check: CampaignCheck) -> None:
    out = console()
    title = f"slug {check.definition.spec.slug}" if check.definition else "not loaded"
    out.print(f"\n[bold]{escape(str(check.folder))}[/] [dim]({escape(title)})[/]")
    for finding in check.findings:
        colour = "red" if finding.severity == "error" else "yellow"
        out.print(
            f"  [{colour}]{finding.severity}[/]: {escape(finding.where)}: {escape(finding.message)}"
        )
    if check.definition is not None:
        table = _sms_table(check.definition)
        if table is not None:
            out.print(table)
    if not check.findings:
        out.print("  [green]no problems found[/]")


def _check_all(paths: list[Path] | None) -> list[CampaignCheck]:
    settings = clinic_settings()
    checks = [
        check_campaign(folder, settings.templates_dir) for folder in _folders(settings, paths)
    ]
    if not checks:
        fail("no campaign folders found")
    return checks


@app.command()
def validate(paths: PathsArg = None) -> None:
    """Check each campaign folder: fields, templates, variables and SMS length."""
    checks = _check_all(paths)
    for check in checks:
        _report(check)
    errors = sum(len(c.errors) for c in checks)
    warnings = sum(len(c.warnings) for c in checks)
    colour = "red" if errors else "green"
    console().print(f"\n[{colour}]{errors} error(s)[/], {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)


@app.command()
@needs_database
def sync(paths: PathsArg = None) -> None:
    """Validate, then store each campaign as a new version when it changed."""
    checks = _check_all(paths)
    factory, now, out = sessions(), cli_clock().now(), console()
    refused = 0
    for check in checks:
        if check.errors or check.definition is None:
            _report(check)
            out.print(f"  [red]not synced:[/] fix the {len(check.errors)} error(s) above")
            refused += 1
            continue
        result = sync_checked(factory, check, now)
        slug = escape(check.definition.spec.slug)
        if not result.changed:
            out.print(f"{slug}: [dim]unchanged[/] (version {result.version})")
        elif result.version == 1:
            out.print(f"{slug}: [green]created[/] (version 1)")
        else:
            out.print(f"{slug}: [green]new version {result.version}[/]")
    if refused:
        raise typer.Exit(1)


def _find_definition(settings: Settings, slug: str) -> CampaignDefinition:
    for folder in campaign_dirs(settings.templates_dir):
        check = check_campaign(folder, settings.templates_dir)
        if check.definition is not None and check.definition.spec.slug == slug:
            return check.definition
    fail(f"no campaign folder under {settings.templates_dir / 'campaigns'} has the slug {slug!r}")


def _find_step(definition: CampaignDefinition, key: str) -> StepSpec:
    for step in definition.spec.steps:
        if step.key == key:
            return step
    keys = ", ".join(s.key for s in definition.spec.steps)
    fail(f"campaign {definition.spec.slug!r} has no step {key!r}; its steps are: {keys}")


def _sample_context(
    settings: Settings, definition: CampaignDefinition, name: str
) -> MessageContext:
    sample_lead = SAMPLE_PUBLIC_ID  # links are signed for a lead that does not exist
    return MessageContext(
        first_name=name,
        clinic=Clinic(settings.clinic_name, settings.clinic_phone, settings.clinic_address),
        article_url=article_url(settings, definition.spec.article or ""),
        booking_url=booking_url(settings, sample_lead),
        unsubscribe_url=unsubscribe_url(settings, sample_lead, Channel.EMAIL),
        preferences_url=preferences_url(settings, sample_lead),
    )


@app.command()
def preview(
    slug: Annotated[str, typer.Argument(help="The campaign's slug.")],
    step_key: Annotated[str, typer.Argument(help="The step's key.")],
    first_name: Annotated[str, typer.Option(help="The sample lead's first name.")] = "Jordan",
    variant: Annotated[
        str | None,
        typer.Option(
            help="For a step with an A/B test: the variant to render "
            "(default: the one the sample lead gets)."
        ),
    ] = None,
) -> None:
    """Render one step for a sample lead, exactly as it would be sent."""
    settings = clinic_settings()
    definition = _find_definition(settings, slug)
    step = _find_step(definition, step_key)
    context = _sample_context(settings, definition, first_name)
    out = console()
    if variant is not None or step.variants:
        step = _variant_of(definition, step, variant)
    try:
        if step.channel is Channel.SMS:
            body = render_sms(definition, step, context)
            count = count_segments(body)
            out.print(f"[bold]SMS[/] {escape(step.key)}\n\n{escape(body)}\n")
            out.print(
                f"{len(body)} characters, {count.encoding}, {count.units} units: "
                f"[bold]{count.segments}[/] segment(s) "
                f"(the campaign allows {definition.spec.sms_max_segments})"
            )
            return
        email = render_email(definition, step, context, settings.templates_dir)
    except TemplateProblem as exc:
        fail(f"the step does not render: {exc}")
    html_path = settings.data_dir / "preview" / f"{slug}--{step.key}.html"
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(email.html, encoding="utf-8")
    out.print(f"[bold]Subject:[/] {escape(email.subject)}\n")
    out.print(escape(email.text))
    out.print(f"[dim]HTML part written to[/] {escape(str(html_path))}")


def _variant_of(definition: CampaignDefinition, step: StepSpec, variant: str | None) -> StepSpec:
    """The step as written in `variant` (the sample lead's when None), said on the console."""
    picks = [] if variant is None else [f"{step.key}={variant}"]
    try:
        shown = shown_variants(definition.spec, parse_picks(picks, definition.spec), {})
    except ValueError as exc:
        fail(f"--variant {exc}")
    arm = shown[step.key]
    console().print(f"[bold]A/B test:[/] {escape(arm.label())}")
    return written_for_sample(definition, step, arm.key)


def _parse_start(text: str | None, zone: ZoneInfo) -> datetime:
    if text is None:
        return cli_clock().now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--start {text!r} is not an ISO date-time, e.g. 2026-10-27T09:00")
    # A start without an offset is read on the lead's own clock. The dispatcher adds
    # delays to the enrollment time in UTC, so a delay across a DST change keeps its
    # length in hours, not its wall-clock time: plan from UTC as well.
    local = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    return local.astimezone(UTC)


@app.command()
def timeline(
    slug: Annotated[str, typer.Argument(help="The campaign's slug.")],
    start: Annotated[
        str | None,
        typer.Option(help="Sign-up time, ISO 8601; without an offset it is the lead's local time."),
    ] = None,
    timezone: Annotated[str, typer.Option(help="The sample lead's IANA time zone.")] = (
        "America/Chicago"
    ),
    sms: Annotated[bool, typer.Option("--sms/--no-sms", help="Whether the lead agreed to SMS.")] = (
        True
    ),
    phone: Annotated[
        str | None, typer.Option(help="The lead's mobile number (some states allow fewer hours).")
    ] = None,
    behaviour: Annotated[
        str,
        typer.Option(
            help="What the lead does with what they get, for the campaign's branches: "
            "'opens nothing', 'opens everything' or 'clicks STEP'."
        ),
    ] = OPENS_NOTHING.label,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Read another arm of an A/B test: {PICK_FORMAT} (repeat for more steps)."
        ),
    ] = None,
) -> None:
    """When each step would reach a lead who signs up at --start (the dispatcher's maths),
    which branch each takes for --behaviour, and which A/B variant the sample lead gets."""
    settings = clinic_settings()
    zone = valid_zone(timezone)
    if zone is None:
        fail(f"--timezone {timezone!r} is not an IANA time zone, e.g. America/Chicago")
    definition = _find_definition(settings, slug)
    enrolled_at = _parse_start(start, zone)
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except ValueError as exc:
            fail(f"--phone {phone!r} {exc}")
    try:
        does = parse_behaviour(behaviour, definition.spec)
    except ValueError as exc:
        fail(f"--behaviour {exc}")
    try:
        picks = parse_picks(variant or [], definition.spec)
    except ValueError as exc:
        fail(f"--variant {exc}")
    # A folder has no promoted winner: that is in the database (the console's dry run).
    arms = shown_variants(definition.spec, picks, {})
    out = console()
    signs_up = local_time(enrolled_at, zone)
    out.print(
        f"[bold]{escape(slug)}[/]: a lead in {zone.key} signs up {signs_up} "
        f"and {escape(does.label)}"
    )
    policy = SendingPolicy.from_settings(settings)
    plan = plan_steps(
        definition.spec, enrolled_at, zone, policy, phone=phone, sms_consent=sms, behaviour=does
    )
    for planned in plan:
        day = planned.day(enrolled_at, zone)
        notes = [note] if (note := planned.moved_note(zone)) else []
        if planned.branch:
            notes.append(f"[green]{escape(planned.branch)}[/]")
        if planned.skipped:
            notes.append(f"[yellow]skipped: {escape(planned.skipped)}[/]")
        if (arm := arms.get(planned.step.key)) is not None:
            written = written_for_sample(definition, planned.step, arm.key)
            words = "subject" if written.channel is Channel.EMAIL else "text"
            notes.append(
                f"[cyan]{escape(arm.label())}[/], {words}: "
                f"{escape(headline(definition, written, settings))}"
            )
        for line in entry(
            day, planned.due, zone, planned.step.medium, planned.step.key, details=notes
        ):
            out.print(line)


@app.command("list")
@needs_database
def list_campaigns() -> None:
    """The campaigns in the database, their current version and enrollments."""
    settings = clinic_settings()
    on_disk: dict[str, str] = {}
    for folder in campaign_dirs(settings.templates_dir):
        check = check_campaign(folder, settings.templates_dir)
        if check.definition is not None:
            on_disk[check.definition.spec.slug] = check.definition.checksum()
    table = Table()
    for column in ("slug", "name", "status", "version", "enrolled", "active", "folder"):
        table.add_column(column)
    with sessions()() as session:
        for campaign in session.scalars(select(Campaign).order_by(Campaign.slug)):
            version = session.get(CampaignVersion, campaign.current_version_id or 0)
            counts = dict(
                session.execute(
                    select(Enrollment.status, func.count(Enrollment.id))
                    .where(Enrollment.campaign_id == campaign.id)
                    .group_by(Enrollment.status)
                ).all()
            )
            checksum = on_disk.pop(campaign.slug, None)
            state = (
                "missing"
                if checksum is None
                else "in sync"
                if version is not None and version.checksum == checksum
                else "[yellow]changed: run sync[/]"
            )
            table.add_row(
                campaign.slug,
                escape(campaign.name),
                campaign.status,
                str(version.number if version else "-"),
                str(sum(counts.values())),
                str(counts.get(EnrollmentStatus.ACTIVE, 0)),
                state,
            )
    for slug in sorted(on_disk):
        table.add_row(slug, "", "[yellow]not synced[/]", "-", "0", "0", "run sync")
    console().print(table)


def _change_status(slug: str, target: CampaignStatus) -> None:
    with sessions().begin() as session:
        try:
            change = change_status(session, slug, target, cli_actor(), cli_clock().now())
        except UnknownCampaign:
            fail(f"no campaign has the slug {slug!r}: see `nurture campaigns list`")
        except StatusChangeRefused as exc:
            fail(str(exc))
    message = f"{slug}: {change.before.value} -> {change.after.value}"
    if target is CampaignStatus.ARCHIVED:
        message += (
            f"; {change.enrollments_ended} enrollment(s) ended, "
            f"{change.messages_skipped} waiting message(s) skipped"
        )
    console().print(escape(message))


SlugArg = Annotated[str, typer.Argument(help="The campaign's slug.")]


@app.command()
@needs_database
def activate(slug: SlugArg) -> None:
    """Start a draft, or resume a paused campaign: it enrols and sends again."""
    _change_status(slug, CampaignStatus.ACTIVE)


@app.command()
@needs_database
def pause(slug: SlugArg) -> None:
    """Stop enrolling and sending; waiting messages keep their place until it resumes."""
    _change_status(slug, CampaignStatus.PAUSED)


@app.command()
@needs_database
def archive(slug: SlugArg) -> None:
    """End the campaign for good: enrollments end, waiting messages are skipped."""
    _change_status(slug, CampaignStatus.ARCHIVED)


@app.command()
@needs_database
def export(
    slug: SlugArg,
    out: Annotated[Path, typer.Option(help="Where to write the <slug>/ folder.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite files in an existing folder.")] = False,
) -> None:
    """Write the stored campaign (its current version) as a campaign folder."""
    with sessions()() as session:
        try:
            campaign = find_campaign(session, slug)
        except UnknownCampaign:
            fail(f"no campaign has the slug {slug!r}: see `nurture campaigns list`")
        if campaign.current_version_id is None:
            fail(f"campaign {slug!r} has no stored version")
        definition = load_version(session, campaign.current_version_id)
    try:
        folder = write_folder(definition, out, overwrite=force)
    except FolderExists as exc:
        fail(f"{exc} already holds files: pass --force to overwrite them, or another --out")
    console().print(f"Wrote {escape(str(folder))} ({len(definition.templates) + 1} files)")


@app.command("import")
@needs_database
def import_campaign(
    path: Annotated[Path, typer.Argument(help="A campaign .zip or a campaign folder.")],
) -> None:
    """Check a campaign zip or folder as `sync` does; store a new draft or a new version."""
    settings = clinic_settings()
    if not path.exists():
        fail(f"{path} does not exist")
    with sessions().begin() as session:
        try:
            if path.is_dir():
                imported = import_folder(session, path, settings, cli_actor(), cli_clock().now())
            else:
                data = path.read_bytes()[: MAX_ARCHIVE_BYTES + 1]
                imported = import_zip(session, data, settings, cli_actor(), cli_clock().now())
        except ImportRefused as exc:
            for problem in exc.problems:
                console().print(f"  [red]error[/]: {escape(problem)}")
            fail(f"{path} was not imported: fix the {len(exc.problems)} error(s) above")
    out = console()
    for warning in imported.warnings:
        out.print(f"  [yellow]warning[/]: {escape(warning.where)}: {escape(warning.message)}")
    out.print(escape(imported.summary()))
