"""Small helpers that put leads into the database the way a prospect would."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.ledger import Evidence
from nurture.leads.capture import CaptureResult, capture_lead
from nurture.leads.submission import LeadSubmission

ARTICLE = "tight-hamstrings-sciatic-nerve"


def capture(
    factory: sessionmaker[Session],
    clock: Clock,
    settings: Settings,
    *,
    email: str = "dana@example.com",
    first_name: str = "Dana",
    phone: str | None = "+12175550199",
    timezone: str | None = "America/Chicago",
    sms: bool = True,
    article: str = ARTICLE,
    language: str | None = None,
    location: str | None = None,
) -> CaptureResult:
    """Capture a lead through the same service the form and API use."""
    submission = LeadSubmission(
        article=article,
        first_name=first_name,
        email=email,
        phone=phone,
        timezone=timezone,
        language=language,
        location=location,
        consent={"email": True, "sms": sms and phone is not None},
    )
    with factory.begin() as session:
        return capture_lead(
            session, submission, Evidence("test", "127.0.0.1", "pytest"), clock.now(), settings
        )
