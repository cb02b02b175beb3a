"""The article download form: what was typed, and what to say about each bad field, in
the page's language."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from nurture.languages import DEFAULT_LANGUAGE
from nurture.leads.submission import LeadSubmission
from nurture.web.i18n import N_, gettext_for

# The names people see; error summaries use them so each message says which field.
LABELS = {
    "first_name": N_("First name"),
    "email": N_("Email address"),
    "phone": N_("Mobile number"),
    "location": N_("Clinic"),
    "zip_code": N_("ZIP code"),
    "timezone": N_("Time zone"),
    "language": N_("Language"),
    "consent_email": N_("Email consent"),
    "consent_sms": N_("Text message consent"),
}

FIXES = {
    "first_name": N_("Enter your first name (up to 100 characters, no special symbols)."),
    "email": N_("Enter a valid email address, like name@example.com."),
    "phone": N_("Enter a valid mobile number, like (217) 555-0199, or leave it empty."),
    "location": N_("Choose one of our clinics from the list."),
    "zip_code": N_("Enter a five-digit ZIP code, like 62701, or leave it empty."),
    "timezone": N_("We do not recognise this time zone. Clear it to use the clinic's time zone."),
    "language": N_("Choose English or Spanish (Español)."),
    "consent_email": N_("Tick the email box: the guide is sent by email."),
    "consent_sms": N_("Add your mobile number above to get text messages, or untick this box."),
}


class DownloadForm(BaseModel):
    """The form exactly as typed, so a page with errors can show it again."""

    first_name: str = ""
    email: str = ""
    phone: str = ""
    timezone: str = ""
    location: str = ""  # a clinic of the group, by slug (the article's ?location= preselects)
    zip_code: str = ""  # for the nearest clinic when none is chosen
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
            "location": self.location or None,
            "zip_code": self.zip_code or None,
            "consent": {"email": bool(self.consent_email), "sms": bool(self.consent_sms)},
        }

    def check(
        self, article: str, language: str = DEFAULT_LANGUAGE
    ) -> tuple[LeadSubmission | None, dict[str, str]]:
        """The valid submission, or the fix to show next to each bad field (in `language`)."""
        try:
            return LeadSubmission.model_validate(self.submission_data(article)), {}
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            return None, self._problems(errors, language)

    def _problems(self, errors: list[ErrorDetails], language: str) -> dict[str, str]:
        fields = {self._field(error) for error in errors}
        if "phone" in fields:
            # Consent to texts fails whenever the number does; fixing the number fixes both.
            fields.discard("consent_sms")
        translate = gettext_for(language)
        problems = {}
        for field in LABELS:  # the order the fields appear in on the page
            if field in fields:
                problems[field] = translate(FIXES[field])
        # The address checker explains itself in English only; in Spanish the fix says enough.
        if "email" in problems and language == DEFAULT_LANGUAGE:
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
