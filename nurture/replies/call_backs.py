"""Call-back tasks: a campaign step done by a person, not a provider.

A step with `task: call_back` is written, gated and settled like any other step (its
branch, consent and the exit goal decide whether it happens, with the reason kept on
its outbox row), but where a text would be handed to Twilio it opens an inbox item for
the lead's front desk, with the step's note. The lead's sequences then wait, as they do
for a reply, until the desk resolves the item and resumes or ends them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.replies.inbox import open_item, pause_sequences
from nurture.replies.models import InboxItem, InboxKind

CALL_BACK_REASON = "call back"


def open_call_back(
    session: Session, *, lead_id: int, phone: str, note: str, now: datetime
) -> InboxItem:
    """The lead's call-back item for their front desk, opened now with `note`.

    If the lead already has an open item (the desk is talking with them), the note joins
    it instead: one open item per person, as for replies."""
    item, created = open_item(
        session,
        lead_id=lead_id,
        sender=phone,
        channel=Channel.SMS.value,
        reason=CALL_BACK_REASON,
        now=now,
        kind=InboxKind.CALL_BACK,
    )
    item.note = note if created or not item.note else f"{item.note}\n\n{note}"
    pause_sequences(session, lead_id)
    session.flush()
    return item
