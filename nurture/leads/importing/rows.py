"""One CSV row checked as the web form checks a submission, with consent required per row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from nurture.leads.importing.csv_file import CONSENT_FIELDS, FIELDS
from nurture.leads.submission import ConsentChoice, LeadSubmission

CONSENT_YES = frozenset(
    {"yes", "y", "true", "1", "x", "✓", "✔", "opted in", "opt in", "opt-in", "granted", "agreed"}
)
CONSENT_NO = frozenset(
    {"", "no", "n", "false", "0", "-", "opted out", "opt out", "opt-out", "none"}
)


class ImportedLead(LeadSubmission):
    """A row's lead: the web form's rules for every field; consent to at least one channel.

    The form asks for email consent because it sends the guide by email; a list from the
    front desk may hold people who only agreed to texts.
    """

    article: str = Field("", max_length=120)  # an import answers no article request

    @field_validator("consent")
    @classmethod
    def _consent_is_coherent(cls, value: ConsentChoice, info: ValidationInfo) -> ConsentChoice:
        if not (value.email or value.sms):
            raise ValueError("consent to email or text messages is required")
        if value.sms and not info.data.get("phone"):
            raise ValueError("text messages need a valid mobile number in phone")
        return value


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row was skipped: its number as the spreadsheet shows it, and the column."""

    row: int
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class CheckedRow:
    """A row whose fields are all valid; `campaign` is the slug it asks for ("" = default)."""

    number: int
    lead: ImportedLead
    campaign: str


def is_blank(cells: Sequence[str]) -> bool:
    """Whether the row is empty (spreadsheets leave these; they are not leads)."""
    return not any(cell.strip() for cell in cells)


def parse_consent(value: str) -> bool | None:
    """True for yes-like answers, False for no-like ones, None when it is neither."""
    answer = " ".join(value.strip().lower().split())
    if answer in CONSENT_YES:
        return True
    if answer in CONSENT_NO:
        return False
    return None


def _message(error: ErrorDetails) -> str:
    if error["type"] in {"missing", "string_too_short"} and not error.get("input"):
        return "is empty"
    return error["msg"].removeprefix("Value error, ")


def check_row(
    headers: Sequence[str], mapping: Sequence[str], number: int, cells: Sequence[str]
) -> CheckedRow | list[RowError]:
    """The row's lead, or every problem with it (each naming the column)."""
    values = {field: cells[i].strip() for i, field in enumerate(mapping) if field}
    column = {field: headers[i] for i, field in enumerate(mapping) if field}
    errors: list[RowError] = []
    consent: dict[str, bool] = {}
    for field in CONSENT_FIELDS:
        if field not in values:
            continue
        answer = parse_consent(values[field])
        if answer is None:
            errors.append(RowError(number, column[field], f"{values[field]!r} is not yes or no"))
        consent[field] = bool(answer)
    consent_columns = " / ".join(column[f] for f in CONSENT_FIELDS if f in column)
    if not errors and not any(consent.values()):
        errors.append(
            RowError(
                number,
                consent_columns,
                "no consent: the person must have agreed to emails or texts",
            )
        )
    if consent.get("sms_consent") and not values.get("phone"):
        errors.append(
            RowError(
                number, column["sms_consent"], "says yes to texts but the row has no mobile number"
            )
        )
    try:
        lead = ImportedLead.model_validate(
            {
                "first_name": values.get("first_name", ""),
                "email": values.get("email", ""),
                "phone": values.get("phone") or None,
                "timezone": values.get("timezone") or None,
                "consent": {
                    "email": consent.get("email_consent", False),
                    "sms": consent.get("sms_consent", False),
                },
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if field == "consent":
                continue  # the consent columns were checked above, with their names
            name = column.get(field, FIELDS.get(field, field))
            errors.append(RowError(number, name, _message(error)))
    if errors:
        return errors
    return CheckedRow(number, lead, values.get("campaign", ""))
