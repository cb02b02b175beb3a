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

from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.db import upsert_insert
from nurture.leads.models import new_public_id
from nurture.messages import outbox
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


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice: for which lead, of what kind, its dedupe key, and when it is due."""

    lead_id: int
    kind: str
    dedupe_key: str
    due_at: datetime


def queue_notice(
    session: Session, notice: Notice, content: EmailContent | str, now: datetime
) -> int | None:
    """Queue a notice email (its EmailContent) or text (its body); None when one with
    this dedupe key was queued before."""
    if isinstance(content, EmailContent):
        channel, stored, summary = Channel.EMAIL, content.to_json(), content.subject
    else:
        channel, stored, summary = Channel.SMS, {"body": content}, content
    inserted: int | None = session.scalar(
        upsert_insert(session)(Message)
        .values(
            ref=new_public_id(),
            lead_id=notice.lead_id,
            kind=MessageKind.TRANSACTIONAL,
            step_key=notice.kind,
            dedupe_key=notice.dedupe_key,
            channel=channel,
            status=MessageStatus.HELD,
            reason=SCHEDULED,
            content=stored,
            summary=summary[:200],
            due_at=notice.due_at,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message.id)
    )
    return inserted


def cancel_pending(session: Session, dedupe_keys: list[str], reason: str, now: datetime) -> int:
    """Skip notices not yet handed off (a reminder for a cancelled booking)."""
    return len(outbox.skip_waiting(session, [Message.dedupe_key.in_(dedupe_keys)], reason, now))
