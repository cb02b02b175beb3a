"""Ending enrollments, the one way: a booking, an archive and staff removing a lead all
end a sequence here, and what it had written and not handed off is skipped with the
same reason, so nothing due is lost silently (invariant 2).

A message a worker has already claimed is left to the gate, which sees the ended
enrollment (or the booking) and skips it with its own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from nurture.messages import outbox
from nurture.messages.models import Message
from nurture.sequences.models import Enrollment, EnrollmentStatus


@dataclass(frozen=True, slots=True)
class Ended:
    """What ending did: the enrollments ended and the waiting messages skipped."""

    enrollments: list[int]
    messages: list[int]


def end_enrollments(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    reason: str,
    now: datetime,
    *,
    messages: Sequence[ColumnElement[bool]] | None = None,
    message_reason: str | None = None,
) -> Ended:
    """End the matching enrollments (exited, with `reason`) and skip waiting messages.

    The messages skipped are the ended enrollments' own unless `messages` selects
    others (a booking skips every campaign message of the lead); each carries
    `message_reason`, or `reason` when none is given.
    """
    ended = list(
        session.scalars(
            update(Enrollment)
            .where(*where)
            .values(
                status=EnrollmentStatus.EXITED,
                next_step_key=None,
                next_due_at=None,
                ended_at=now,
                end_reason=reason,
            )
            .returning(Enrollment.id)
        )
    )
    if messages is None:
        if not ended:
            return Ended([], [])
        messages = [Message.enrollment_id.in_(ended)]
    skipped = outbox.skip_waiting(session, messages, message_reason or reason, now)
    return Ended(ended, skipped)
