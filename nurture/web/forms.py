"""The article download form: what was typed, and what to say about each bad field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from nurture.leads.submission import LeadSubmission

# The names people see; error summaries use them so each message says which field.
LABELS = {
    "first_name": "First name",
    "email": "Email address",
    "phone": "Mobile number",
    "timezone": "Time zone",
    "language": "Language",
    "consent_email": "Email consent",
    "consent_sms": "Text message consent",
}

FIXES = {
    "first_name": "Enter your first name (up to 100 characters, no special symbols).",
    "email": "Enter a valid email address, like name@example.com.",
    "phone": "Enter a valid mobile number, like (217) 555-0199, or leave it empty.",
    "timezone": "We do not recognise this time zone. Clear it to use the clinic's time zone.",
    "language": "Choose English or Spanish (Español).",
    "consent_email": "Tick the email box: the guide is sent by email.",
    "consent_sms": "Add your mobile number above to get text messages, or untick this box.",
}


class DownloadForm(BaseModel):
    """The form exactly as typed, so a page with errors can show it again."""

    first_name: str = ""
    email: str = ""
    phone: str = ""
    timezone: str = ""
    language: str = ""  # a hidden field an article page in Spanish may set
    consent_email: str = ""
    consent_sms: str = ""
    website: str = ""  # the honeypot: hidden from people, filled in by bots

    def submission_data(self, article: str) -> dict[str, Any]:
        """The form's values in the shape LeadSubmission checks (a ticked box has any value)."""
        return {
            "article": article,
            "first_name": self.first_name,
            "email": self.email,
            "phone": self.phone or None,
            "timezone": self.timezone or None,
            "language": self.language or None,
            "consent": {"email": bool(self.consent_email), "sms": bool(self.consent_sms)},
        }

    def check(self, article: str) -> tuple[LeadSubmission | None, dict[str, str]]:
        """The valid submission, or the fix to show next to each bad field."""
        try:
            return LeadSubmission.model_validate(self.submission_data(article)), {}
        except ValidationError as exc:
            return None, self._problems(exc.errors(include_url=False, include_input=False))

    def _problems(self, errors: list[ErrorDetails]) -> dict[str, str]:
        fields = {self._field(error) for error in errors}
        if "phone" in fields:
            # Consent to texts fails whenever the number does; fixing the number fixes both.
            fields.discard("consent_sms")
        problems = {}
        for field in LABELS:  # the order the fields appear in on the page
            if field in fields:
                problems[field] = FIXES[field]
        if "email" in problems:
            reason = next(e["msg"] for e in errors if e["loc"][:1] == ("email",))
            problems["email"] += " " + reason.removeprefix("Value error, ")
        return problems

    def _field(self, error: ErrorDetails) -> str:
        top = str(error["loc"][0]) if error["loc"] else ""
        if top == "consent":
            # One check covers both boxes: without email consent that is the problem,
            # otherwise texts were asked for without a usable number.
            return "consent_sms" if self.consent_email else "consent_email"
        return top
