"""Reading a spreadsheet's CSV export and deciding which column holds which lead field."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The lead fields a column can fill, with the label staff see; "" means "not imported".
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "email": "Email",
    "phone": "Mobile phone",
    "timezone": "Time zone",
    "email_consent": "Email consent",
    "sms_consent": "SMS consent",
    "campaign": "Campaign",
}
NOT_IMPORTED = ""
CONSENT_FIELDS = ("email_consent", "sms_consent")
REQUIRED_FIELDS = ("first_name", "email")

# Normalised header (lower case, words only) -> field. Exact names first, then keywords.
HEADER_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ["first name", "firstname", "first", "given name", "forename", "name", "full name"],
        "first_name",
    ),
    **dict.fromkeys(["email", "e mail", "email address", "e mail address", "mail"], "email"),
    **dict.fromkeys(
        ["phone", "mobile", "cell", "telephone", "tel", "phone number", "mobile number"],
        "phone",
    ),
    **dict.fromkeys(["time zone", "timezone", "tz", "zone"], "timezone"),
    **dict.fromkeys(["campaign", "campaign slug", "sequence"], "campaign"),
}
DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"


class CsvProblem(ValueError):
    """The file cannot be read as a CSV table; the message says what to do."""


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A decoded CSV: its header cells and data rows, as the spreadsheet numbers them."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    delimiter: str
    encoding: str

    def numbered(self) -> Iterable[tuple[int, tuple[str, ...]]]:
        """(row number, cells) for each data row: the header is row 1, the first row is 2."""
        return enumerate(self.rows, start=2)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: UTF-8 (with or without BOM), UTF-16, or cp1252."""
    if data.startswith(XLSX_MAGIC):
        raise CsvProblem(
            "This is an Excel workbook, not a CSV file: in Excel choose "
            "File > Save As > CSV UTF-8 and upload that."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV (Comma delimited)" on Windows writes Windows-1252.
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise CsvProblem(
            f"The file is not UTF-8 or Windows-1252 text (byte {data[exc.start]:#04x} at "
            f"position {exc.start}): save it as CSV UTF-8 and upload it again."
        ) from None


def sniff_delimiter(header_line: str) -> str:
    """The separator the header line uses most, outside quotes: comma, semicolon or tab."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes) -> CsvFile:
    """Parse uploaded bytes into a header and rows, or CsvProblem saying why not."""
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvProblem("The file holds binary data, not CSV text.")
    text, encoding = decode(data)
    if not text.strip():
        raise CsvProblem("The file is empty.")
    delimiter = sniff_delimiter(text.lstrip("\r\n").split("\n", 1)[0])
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise CsvProblem(f"The file is not valid CSV: {exc}.") from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise CsvProblem("Row 1 is empty: the first row must name the columns.")
    headers = tuple(
        cell.strip() or f"Column {index}" for index, cell in enumerate(records[0], start=1)
    )
    width = len(headers)
    # Short rows are padded (a spreadsheet drops trailing empty cells); extra cells are dropped.
    rows = tuple(tuple((list(r) + [""] * width)[:width]) for r in records[1:])
    if not any(any(cell.strip() for cell in row) for row in rows):
        raise CsvProblem("The file has a header row but no leads under it.")
    return CsvFile(headers, rows, delimiter, encoding)


def _words(header: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", header.lower()))


def guess_field(header: str) -> str:
    """The field a column named `header` most likely holds, or NOT_IMPORTED."""
    words = _words(header)
    if words in HEADER_NAMES:
        return HEADER_NAMES[words]
    tokens = set(words.split())
    if tokens & {"consent", "opt", "optin", "permission", "agreed", "ok"}:
        if tokens & {"sms", "text", "texts"}:
            return "sms_consent"
        if tokens & {"email", "e", "mail"}:
            return "email_consent"
        return NOT_IMPORTED
    if tokens & {"email", "mail"}:
        return "email"
    if tokens & {"phone", "mobile", "cell"}:
        return "phone"
    return NOT_IMPORTED


def guess_mapping(headers: Sequence[str]) -> tuple[str, ...]:
    """A field for each column (each field at most once, the leftmost column winning)."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        field = guess_field(header)
        if field in taken:
            field = NOT_IMPORTED
        taken.add(field)
        mapping.append(field)
    return tuple(mapping)


def apply_overrides(
    headers: Sequence[str], mapping: Sequence[str], overrides: Iterable[str]
) -> tuple[str, ...]:
    """The mapping with "Header=field" choices applied (field "-" skips the column)."""
    result = list(mapping)
    for override in overrides:
        header, sep, field = (part.strip() for part in override.partition("="))
        if not sep or not header:
            raise CsvProblem(f'{override!r}: write the mapping as "Column header=field".')
        field = NOT_IMPORTED if field in {"-", ""} else field
        if field and field not in FIELDS:
            raise CsvProblem(f"{override!r}: {field!r} is not a field; use one of {_choices()}.")
        matches = [i for i, name in enumerate(headers) if name.lower() == header.lower()]
        if not matches:
            raise CsvProblem(f"{override!r}: the file has no column {header!r}.")
        if field:
            # The field moves to this column: no other column keeps it.
            result = [NOT_IMPORTED if f == field else f for f in result]
        result[matches[0]] = field
    return tuple(result)


def mapping_problems(headers: Sequence[str], mapping: Sequence[str]) -> list[str]:
    """What stops this mapping from importing anything (empty when it will do)."""
    problems = []
    for field in mapping:
        if field and field not in FIELDS:
            problems.append(f"{field!r} is not a lead field.")
    chosen = [f for f in mapping if f]
    for field in sorted(set(chosen), key=chosen.index):
        if chosen.count(field) > 1:
            columns = ", ".join(h for h, f in zip(headers, mapping, strict=True) if f == field)
            problems.append(f"{FIELDS.get(field, field)} is chosen for several columns: {columns}.")
    for field in REQUIRED_FIELDS:
        if field not in chosen:
            problems.append(f"Choose the column that holds {FIELDS[field]}.")
    if not set(CONSENT_FIELDS) & set(chosen):
        problems.append(
            "Choose the column that records Email consent or SMS consent: "
            "every lead imported must have agreed to hear from the clinic."
        )
    return problems


def _choices() -> str:
    return ", ".join(FIELDS)
