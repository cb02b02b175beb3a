"""`nurture leads import`: a CSV of leads into a campaign, with a progress bar and row errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from nurture.cli.context import cli_actor, cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.leads.capture import CampaignRefused, active_campaign
from nurture.leads.importing.csv_file import (
    FIELDS,
    CsvProblem,
    apply_overrides,
    guess_mapping,
    mapping_problems,
    read_csv,
)
from nurture.leads.importing.run import (
    ImportCounts,
    ImportOrigin,
    LeadImporter,
    safe_filename,
)
from nurture.staff.service import record_audit

MAP_HELP = (
    '"Column header=field" to override the guess (field "-" leaves a column out). '
    f"Fields: {', '.join(FIELDS)}. Repeatable."
)


@needs_database
def import_leads(
    file: Annotated[Path, typer.Argument(help="The CSV file; its first row names the columns.")],
    campaign: Annotated[str, typer.Option(help="Slug of the active campaign the leads join.")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help=MAP_HELP,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; save nothing.")
    ] = False,
) -> None:
    """Import leads from a CSV: bad rows are listed by row number and skipped, good rows enrolled.

    Exits 1 when no row could be imported.
    """
    settings = clinic_settings()
    try:
        csv_file = read_csv(file.read_bytes())
        chosen = apply_overrides(csv_file.headers, guess_mapping(csv_file.headers), mapping or [])
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    except CsvProblem as exc:
        fail(f"{file.name}: {exc}")
    out = console()
    out.print(_mapping_table(csv_file.headers, chosen))
    problems = mapping_problems(csv_file.headers, chosen)
    if problems:
        fail(" ".join(problems) + ' Use --map "Column header=field".')
    factory = sessions()
    with factory() as session:
        try:
            active_campaign(session, campaign)
        except CampaignRefused as exc:
            fail(f"--campaign: {exc}")
    actor = cli_actor()
    origin = ImportOrigin(safe_filename(file.name), actor)
    importer = LeadImporter(csv_file, chosen, campaign, origin, settings)
    clock = cli_clock()
    counts = ImportCounts()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=out) as bar:
        task = bar.add_task("Checking rows" if dry_run else "Importing rows", total=importer.total)
        for rows in importer.chunks():
            with factory.begin() as session:
                if dry_run:
                    counts.add(importer.dry_run(session, rows))
                else:
                    counts.add(importer.import_rows(session, rows, clock.now()))
            bar.advance(task, len(rows))
    if not dry_run:
        with factory.begin() as session:
            detail = {"campaign": campaign, "rows": importer.total, **counts.audit_detail()}
            record_audit(session, actor, "leads.imported", clock.now(), campaign, detail)
    _report(counts, importer.total, campaign, dry_run)


def _mapping_table(headers: tuple[str, ...], mapping: tuple[str, ...]) -> Table:
    table = Table(title="Columns", title_justify="left")
    table.add_column("column in the file")
    table.add_column("imported as")
    for header, field in zip(headers, mapping, strict=True):
        table.add_row(escape(header), field or "-")
    return table


def _report(counts: ImportCounts, total: int, campaign: str, dry_run: bool) -> None:
    out = console()
    if dry_run:
        out.print(
            f"Dry run: {counts.imported} of {total} rows would be imported into {campaign}, "
            f"{counts.skipped} skipped. Nothing was saved."
        )
    else:
        out.print(
            f"Imported {counts.imported} leads into {campaign}; "
            f"{counts.already_enrolled} were enrolled already (details updated); "
            f"{counts.skipped} rows skipped; {counts.new_leads} new leads."
        )
    if counts.errors:
        table = Table(title="Rows skipped", title_justify="left")
        for column in ("row", "column", "problem"):
            table.add_column(column, overflow="fold")
        for error in counts.errors:
            table.add_row(str(error.row), escape(error.column), escape(error.message))
        out.print(table)
    if not (counts.imported or counts.already_enrolled):
        fail("no row could be imported; fix the rows listed above and run the import again")
