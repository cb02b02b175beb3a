"""Importing leads from a CSV: mapping guesses, row checks, consent, enrolment, row errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import Evidence, current_consent, revoke
from nurture.consent.models import ConsentEvent
from nurture.leads import capture as capture_module
from nurture.leads.importing import run as importing
from nurture.leads.importing.csv_file import (
    CsvFile,
    CsvProblem,
    apply_overrides,
    guess_mapping,
    mapping_problems,
    read_csv,
)
from nurture.leads.importing.rows import RowError
from nurture.leads.importing.run import ImportCounts, ImportOrigin, LeadImporter
from nurture.leads.models import Lead
from nurture.sequences.models import Enrollment
from nurture.staff.service import Actor
from tests.factories import capture
from tests.support import Database

SLUG = "hamstring-sciatica"
MARA = Actor("mara@riverside-pt.example", 7, "10.0.0.5")
HEADER = "First name,E-mail,Mobile,Email consent,SMS consent\n"
MIXED = (
    HEADER
    + "Ann,ann@example.com,(217) 555-0101,yes,yes\n"
    + "Bob,bob-at-example.com,,yes,no\n"  # row 3: not an email address
    + "Cy,cy@example.com,,no,no\n"  # row 4: no consent at all
    + "Di,di@example.com,,y,\n"
)


def importer(
    text: str | bytes, settings: Settings, mapping: tuple[str, ...] | None = None
) -> LeadImporter:
    csv_file = read_csv(text.encode() if isinstance(text, str) else text)
    chosen = mapping or guess_mapping(csv_file.headers)
    origin = ImportOrigin("spring-fair.csv", MARA)
    return LeadImporter(csv_file, chosen, SLUG, origin, settings)


def run_import(
    db: Database, clock: ManualClock, settings: Settings, text: str, chunk: int = 500
) -> ImportCounts:
    work = importer(text, settings)
    counts = ImportCounts()
    for rows in work.chunks(chunk):
        with db.factory.begin() as session:
            counts.add(work.import_rows(session, rows, clock.now()))
    return counts


def enrolled_emails(db: Database) -> set[str]:
    with db.factory() as session:
        query = select(Lead.email).join(Enrollment, Enrollment.lead_id == Lead.id)
        return set(session.scalars(query))


def test_good_rows_are_enrolled_and_bad_rows_are_reported_by_spreadsheet_row_number(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    counts = run_import(db, clock, settings, MIXED)
    assert (counts.imported, counts.already_enrolled, counts.skipped) == (2, 0, 2)
    assert counts.errors == [
        RowError(3, "E-mail", "An email address must have an @-sign."),
        RowError(
            4,
            "Email consent / SMS consent",
            "no consent: the person must have agreed to emails or texts",
        ),
    ]
    assert enrolled_emails(db) == {"ann@example.com", "di@example.com"}
    with db.factory() as session:
        assert session.scalar(select(func.count(Lead.id))) == 2
        ann = session.scalars(select(Lead).where(Lead.email == "ann@example.com")).one()
        assert ann.phone == "+12175550101"
        assert ann.source == "csv-import:spring-fair.csv"
        grants = session.scalars(select(ConsentEvent).where(ConsentEvent.lead_id == ann.id)).all()
        assert {g.channel for g in grants} == {"email", "sms"}
        assert {(g.source, g.ip, g.user_agent) for g in grants} == {
            ("csv-import:spring-fair.csv", "10.0.0.5", "imported by mara@riverside-pt.example")
        }


def test_dry_run_reports_the_same_rows_and_saves_nothing(
    db: Database, settings: Settings, campaign: int
) -> None:
    work = importer(MIXED, settings)
    with db.factory() as session:
        counts = work.dry_run(session, next(work.chunks()))
        assert session.scalar(select(func.count(Lead.id))) == 0
    assert (counts.imported, counts.skipped) == (2, 2)
    assert [e.row for e in counts.errors] == [3, 4]


def test_row_numbers_stay_right_across_chunks_and_blank_lines(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    text = HEADER + "Ann,ann@example.com,,yes,\n\nBob,bob@,,yes,\nCy,cy@example.com,,yes,\n"
    counts = run_import(db, clock, settings, text, chunk=2)
    assert [(e.row, e.column) for e in counts.errors] == [(4, "E-mail")]
    assert counts.imported == 2


def test_headers_people_write_are_mapped_to_lead_fields() -> None:
    headers = (
        "Name",
        "E-mail address",
        "Mobile",
        "Time zone",
        "Email opt-in",
        "Text consent",
        "Campaign",
        "Notes",
    )
    assert guess_mapping(headers) == (
        "first_name",
        "email",
        "phone",
        "timezone",
        "email_consent",
        "sms_consent",
        "campaign",
        "",
    )
    assert guess_mapping(("Who", "Contact email", "OK to email", "OK to text")) == (
        "",
        "email",
        "email_consent",
        "sms_consent",
    )
    assert guess_mapping(("first_name", "email", "Phone", "Cell")) == (
        "first_name",
        "email",
        "phone",
        "",  # a field goes to one column only: the leftmost
    )


def test_a_mapping_override_moves_a_field_to_the_named_column() -> None:
    headers = ("First name", "Email", "Home phone", "Mobile", "Email consent")
    mapping = apply_overrides(headers, guess_mapping(headers), ["Mobile=phone", "Email consent=-"])
    assert mapping == ("first_name", "email", "", "phone", "")
    with pytest.raises(CsvProblem, match="no column 'Fax'"):
        apply_overrides(headers, mapping, ["Fax=phone"])
    with pytest.raises(CsvProblem, match="'mobile' is not a field"):
        apply_overrides(headers, mapping, ["Mobile=mobile"])


def test_a_mapping_without_email_name_or_consent_cannot_import() -> None:
    problems = mapping_problems(("A", "B"), ("phone", "phone"))
    assert problems == [
        "Mobile phone is chosen for several columns: A, B.",
        "Choose the column that holds First name.",
        "Choose the column that holds Email.",
        "Choose the column that records Email consent or SMS consent: "
        "every lead imported must have agreed to hear from the clinic.",
    ]


def test_excel_exports_are_read_whatever_their_encoding_and_separator() -> None:
    expected = (("José", "jose@example.com", "ja"),)
    for data in (
        "\ufeffName;Email;Email consent\r\nJosé;jose@example.com;ja\r\n".encode(),
        "Name;Email;Email consent\nJosé;jose@example.com;ja\n".encode("cp1252"),
        "Name\tEmail\tEmail consent\nJosé\tjose@example.com\tja\n".encode("utf-16"),
        'Name,Email,"Email consent"\n"José","jose@example.com",ja\n'.encode(),
    ):
        csv_file = read_csv(data)
        assert csv_file.headers == ("Name", "Email", "Email consent"), data
        assert csv_file.rows == expected, data


def test_semicolon_file_with_a_bom_imports(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    text = "\ufeffFirst name;E-mail;Email consent\nAnn;ann@example.com;Yes\n"
    counts = run_import(db, clock, settings, text)
    assert counts.imported == 1 and counts.errors == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        (b"Name,Email\n\x81\x8d,x\n", "not UTF-8 or Windows-1252"),
        (b"Name,Email\n\n", "no leads under it"),
        (b",,\nAnn,ann@example.com\n", "Row 1 is empty"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(CsvProblem, match=message):
        read_csv(data)


def test_a_second_row_with_the_same_address_is_an_error(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    text = HEADER + "Ann,ann@example.com,,yes,\nAnnie,ANN@Example.com,,yes,\n"
    counts = run_import(db, clock, settings, text)
    assert counts.imported == 1
    assert counts.errors == [
        RowError(3, "E-mail", "the same address as row 2; only the first is imported")
    ]


def test_text_only_consent_is_enough_with_a_mobile_number_but_not_without(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    text = HEADER + "Ann,ann@example.com,2175550101,no,yes\nBob,bob@example.com,,no,yes\n"
    counts = run_import(db, clock, settings, text)
    assert counts.imported == 1
    assert counts.errors == [
        RowError(3, "SMS consent", "says yes to texts but the row has no mobile number")
    ]
    with db.factory() as session:
        ann = session.scalars(select(Lead).where(Lead.email == "ann@example.com")).one()
        assert current_consent(session, ann.id) == {Channel.EMAIL: False, Channel.SMS: True}


def test_consent_answers_other_than_yes_or_no_are_errors(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    counts = run_import(db, clock, settings, HEADER + "Ann,ann@example.com,,maybe,\n")
    assert counts.errors == [RowError(2, "Email consent", "'maybe' is not yes or no")]


def test_a_lead_already_in_the_campaign_is_updated_not_enrolled_twice(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    capture(db.factory, clock, settings, email="ann@example.com", first_name="Anne")
    counts = run_import(db, clock, settings, HEADER + "Ann,ann@example.com,,yes,\n")
    assert (counts.imported, counts.already_enrolled, counts.new_leads) == (0, 1, 0)
    with db.factory() as session:
        assert session.scalar(select(func.count(Enrollment.id))) == 1
        assert session.scalars(select(Lead.first_name)).one() == "Ann"


def test_an_import_cannot_opt_someone_back_in(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    lead = capture(db.factory, clock, settings, email="ann@example.com")
    with db.factory.begin() as session:
        revoke(session, lead.lead_id, Channel.EMAIL, Evidence("unsubscribe-link"), clock.now())
    counts = run_import(db, clock, settings, HEADER + "Ann,ann@example.com,,yes,\n")
    assert counts.errors[0].row == 2 and counts.errors[0].column == "Email consent"
    assert "opted out of emails" in counts.errors[0].message
    with db.factory() as session:
        assert current_consent(session, lead.lead_id)[Channel.EMAIL] is False


def test_rows_naming_an_inactive_campaign_are_errors(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with db.factory.begin() as session:
        session.get_one(Campaign, campaign).status = CampaignStatus.PAUSED
    text = (
        "Name,Email,Email consent,Campaign\nAnn,ann@example.com,yes,\nBo,bo@example.com,yes,nope\n"
    )
    counts = run_import(db, clock, settings, text)
    assert counts.errors == [
        RowError(
            2, "Campaign", f"campaign {SLUG!r} is paused; only active campaigns take new leads"
        ),
        RowError(3, "Campaign", "there is no campaign 'nope'"),
    ]


def test_a_row_that_fails_to_save_loses_only_itself(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = capture_module.upsert_lead

    def failing_for_bob(*args: object, **kwargs: object) -> tuple[Lead, bool]:
        lead, created = real(*args, **kwargs)  # type: ignore[arg-type]
        if lead.email == "bob@example.com":
            raise RuntimeError("disk full")
        return lead, created

    monkeypatch.setattr(importing, "upsert_lead", failing_for_bob)  # where the importer looks
    text = (
        HEADER + "Ann,ann@example.com,,yes,\nBob,bob@example.com,,yes,\nCy,cy@example.com,,yes,\n"
    )
    counts = run_import(db, clock, settings, text)
    assert counts.imported == 2
    assert [(e.row, e.message) for e in counts.errors] == [
        (3, "could not be saved (a database error); nothing from this row was kept")
    ]
    assert enrolled_emails(db) == {"ann@example.com", "cy@example.com"}
    with db.factory() as session:
        assert session.scalars(select(Lead).where(Lead.email == "bob@example.com")).first() is None


def test_numbered_rows_start_at_two() -> None:
    csv_file: CsvFile = read_csv(b"Email\na@example.com\nb@example.com\n")
    assert [number for number, _ in csv_file.numbered()] == [2, 3]
