"""Messages that are not campaign steps: booking confirmations, reminders, replies.

They go through the same outbox and the same delivery path, so they get the same
at-most-once hand-off and recorded outcome. They are written as `held` with a due
time; the dispatcher releases them when due, so the web tier never needs the broker.
A `dedupe_key` (unique in the database) makes queueing the same notice twice a no-op.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from nurture.consent.models import Channel
from nurture.db import upsert_insert
from nurture.leads.models import new_public_id
from nurture.messages.channels.base import Attachment
from nurture.messages.models import Message, MessageKind, MessageStatus

SCHEDULED = "scheduled notice"


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "data": base64.b64encode(a.data).decode("ascii"),
                }
                for a in self.attachments
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmailContent:
        return cls(
            data["subject"],
            data["text"],
            data["html"],
            tuple(
                Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
                for a in data.get("attachments", [])
            ),
        )


def _queue(
    session: Session,
    *,
    lead_id: int,
    channel: Channel,
    kind: str,
    dedupe_key: str,
    content: dict[str, Any],
    summary: str,
    due_at: datetime,
    now: datetime,
) -> int | None:
    inserted: int | None = session.scalar(
        upsert_insert(session)(Message)
        .values(
            ref=new_public_id(),
            lead_id=lead_id,
            kind=MessageKind.TRANSACTIONAL,
            step_key=kind,
            dedupe_key=dedupe_key,
            channel=channel,
            status=MessageStatus.HELD,
            reason=SCHEDULED,
            content=content,
            summary=summary[:200],
            due_at=due_at,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message.id)
    )
    return inserted


def queue_email(
    session: Session,
    *,
    lead_id: int,
    kind: str,
    dedupe_key: str,
    content: EmailContent,
    due_at: datetime,
    now: datetime,
) -> int | None:
    """Queue a notice email; None when one with this dedupe key already exists."""
    return _queue(
        session,
        lead_id=lead_id,
        channel=Channel.EMAIL,
        kind=kind,
        dedupe_key=dedupe_key,
        content=content.to_json(),
        summary=content.subject,
        due_at=due_at,
        now=now,
    )


def queue_sms(
    session: Session,
    *,
    lead_id: int,
    kind: str,
    dedupe_key: str,
    body: str,
    due_at: datetime,
    now: datetime,
) -> int | None:
    """Queue a notice text; None when one with this dedupe key already exists."""
    return _queue(
        session,
        lead_id=lead_id,
        channel=Channel.SMS,
        kind=kind,
        dedupe_key=dedupe_key,
        content={"body": body},
        summary=body,
        due_at=due_at,
        now=now,
    )


def cancel_pending(session: Session, dedupe_keys: list[str], reason: str, now: datetime) -> int:
    """Skip notices not yet handed off (a reminder for a cancelled booking)."""
    ids = session.scalars(
        update(Message)
        .where(
            Message.dedupe_key.in_(dedupe_keys),
            Message.status.in_([MessageStatus.HELD, MessageStatus.QUEUED]),
        )
        .values(status=MessageStatus.SKIPPED, reason=reason[:300], updated_at=now)
        .returning(Message.id)
    ).all()
    return len(ids)
