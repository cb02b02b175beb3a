"""`nurture inbox`: replies that need a person, newest first, and resolving them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from nurture.cli.context import cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.leads.models import Lead
from nurture.replies.inbox import UnknownInboxItem, resolve_inbox_item
from nurture.replies.models import InboundMessage, InboxItem, InboxKind, InboxStatus
from nurture.text import local_time

app = typer.Typer(help="The staff inbox: list open replies, resolve them.", no_args_is_help=True)


@app.command("list")
@needs_database
def list_items(
    all_items: Annotated[bool, typer.Option("--all", help="Include resolved items.")] = False,
) -> None:
    """Open items newest first, with the latest message from each person."""
    settings = clinic_settings()
    with sessions()() as session:
        query = select(InboxItem, Lead).outerjoin(Lead, Lead.id == InboxItem.lead_id)
        if not all_items:
            query = query.where(InboxItem.status == InboxStatus.OPEN)
        rows = session.execute(query.order_by(InboxItem.last_message_at.desc())).all()
        latest = {
            message.inbox_item_id: message
            for message in session.scalars(
                select(InboundMessage)
                .where(InboundMessage.inbox_item_id.in_([item.id for item, _ in rows]))
                .order_by(InboundMessage.id)
            )
        }
    table = Table("id", "when", "who", "channel", "status", "latest message / call-back note")
    for item, lead in rows:
        message = latest.get(item.id)
        who = f"{lead.first_name} <{lead.email}>" if lead else (message.sender if message else "?")
        call_back = item.kind == InboxKind.CALL_BACK
        said = (item.note if call_back else message.body if message else None) or ""
        table.add_row(
            str(item.id),
            local_time(item.last_message_at, settings.clinic_zone),
            escape(who),
            "call" if call_back else item.channel,
            item.status,
            escape(said[:80]),
        )
    console().print(table if rows else "The inbox is empty.")


@app.command()
@needs_database
def resolve(
    item_id: Annotated[int, typer.Argument(help="The inbox item's id (see `nurture inbox list`).")],
    resume: Annotated[
        bool, typer.Option("--resume/--end", help="Resume the lead's sequence, or end it.")
    ] = True,
    staff: Annotated[str, typer.Option(help="Who resolved it, for the record.")] = "front desk",
) -> None:
    """Close an item and resume (default) or end the lead's paused sequence."""
    with sessions().begin() as session:
        try:
            item = resolve_inbox_item(
                session, item_id, resume=resume, staff=staff, now=cli_clock().now()
            )
        except UnknownInboxItem as exc:
            fail(str(exc) or f"no inbox item {item_id}")
        outcome = item.resolution or ("resumed" if resume else "ended")
    console().print(f"Inbox item {item_id} resolved: sequence {outcome}.")
