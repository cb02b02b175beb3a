"""Timelines as lines that read well in an 80-column terminal: a head line, then details."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from nurture.cli.output import STATUS_STYLE
from nurture.leads.admin import CampaignTimeline
from nurture.text import local_time

SMS_PREVIEW_CHARS = 60
DETAIL_INDENT = 8


def entry(
    day: int,
    at: datetime,
    zone: ZoneInfo,
    channel: str,
    step_key: str,
    *,
    status: str | None = None,
    details: Iterable[str] = (),
) -> list[RenderableType]:
    """'Day 0   Mon 2 Nov 09:00 CST   email  sent     welcome-article', then indented details."""
    head = f"{f'Day {day}':<7} {local_time(at, zone):<21} {channel:<6}"
    if status is not None:
        head += f" [{STATUS_STYLE.get(status, 'white')}]{status:<8}[/]"
    lines: list[RenderableType] = [Text.from_markup(f"{head} [bold]{escape(step_key)}[/]")]
    lines += [
        Padding(Text.from_markup(detail), (0, 0, 0, DETAIL_INDENT)) for detail in details if detail
    ]
    return lines


def timeline_view(timeline: CampaignTimeline) -> Group:
    """One campaign's steps as the database records them, for `leads show` and the demo."""
    lines: list[RenderableType] = []
    for item in timeline.entries:
        details = []
        if item.text:
            text = item.text
            if item.channel == "sms" and len(text) > SMS_PREVIEW_CHARS:
                text = text[:SMS_PREVIEW_CHARS].rstrip() + "…"
            details.append(escape(text))
        if item.reason:
            details.append(f"[yellow]{escape(item.reason)}[/]")
        if not item.written and item.status == "pending":
            details.append("[dim]not due yet[/]")
        lines += entry(
            item.day,
            item.at,
            timeline.zone,
            item.channel,
            item.step_key,
            status=item.status,
            details=details,
        )
    return Group(*lines)
