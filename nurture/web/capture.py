"""Capture a lead from the form or the API: one transaction, logged by public id only."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.leads.capture import CaptureResult, capture_lead
from nurture.leads.submission import LeadSubmission

log = logging.getLogger(__name__)


def record_download(
    session: Session,
    submission: LeadSubmission,
    evidence: Evidence,
    now: datetime,
    settings: Settings,
) -> CaptureResult:
    """Store the lead, its consent and its enrollment, committed together."""
    try:
        with session.begin():
            result = capture_lead(session, submission, evidence, now, settings)
    except IntegrityError:
        # A double-clicked button sends two requests for one new email at once, and
        # the slower insert hits the unique index. The winner's row exists now, so a
        # second attempt finds it and records this request's consent against it.
        with session.begin():
            result = capture_lead(session, submission, evidence, now, settings)
    log.info(
        "lead %s captured via %s (new=%s, enrolled=%s)",
        result.lead_public_id,
        evidence.source,
        result.created,
        result.enrolled,
    )
    return result
