"""The console's Leads section: list, search, filters, a lead's page, actions, CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.booking.models import Booking, BookingStatus
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.models import ConsentEvent
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.replies.models import InboundMessage
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.staff.models import AuditEntry
from tests.booking.clinic import TUE_0900, set_availability
from tests.factories import capture
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

MARA = EMAILS["marketing"]


def add_lead(
    db: Database,
    clock: ManualClock,
    settings: Settings,
    name: str,
    *,
    phone: str | None = None,
    email: str | None = None,
) -> str:
    """A lead captured from the form a minute after the previous one; its public id."""
    clock.advance(timedelta(minutes=1))
    result = capture(
        db.factory,
        clock,
        settings,
        email=email or f"{name.lower()}@example.com",
        first_name=name,
        phone=phone,
        sms=phone is not None,
    )
    return result.lead_public_id


def names_listed(html: str) -> list[str]:
    """The names in the leads table, top to bottom."""
    table = html.split('id="leads"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/admin/leads/[0-9a-f]{32}">([^<]*)</a>', table)


def audit(db: Database, action: str) -> list[AuditEntry]:
    with db.factory() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def test_list_shows_leads_newest_first_linking_to_their_pages_by_public_id(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    first = add_lead(db, clock, settings, "Ann")
    add_lead(db, clock, settings, "Ben", phone="+12175550101")
    sign_in_as(client, db, clock, "marketing")
    page = client.get("/admin/leads")
    assert page.status_code == 200
    assert names_listed(page.text) == ["Ben", "Ann"]
    assert f'href="/admin/leads/{first}"' in page.text
    assert "ann@example.com" in text_by_id(page.text, "leads")  # staff see the address in full
    assert text_by_id(page.text, "lead-count") == "2 leads found."
    assert client.get(f"/admin/leads/{first}").status_code == 200


def test_search_by_part_of_a_name_or_address_posts_and_keeps_the_text_out_of_urls(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    add_lead(db, clock, settings, "Dana", email="dana.doe@example.com")
    add_lead(db, clock, settings, "Eli", email="eli@danaher.example")
    add_lead(db, clock, settings, "Fay")
    token = sign_in_as(client, db, clock, "marketing")
    page = post_form(client, "/admin/leads", token, {"q": "DANA"})
    assert page.status_code == 200
    assert names_listed(page.text) == ["Eli", "Dana"]
    assert form_fields(page.text)["q"] == "DANA"
    assert "DANA" not in "".join(re.findall(r'href="([^"]*)"', page.text))
    # A search typed into the address bar is not honoured: searches go by POST.
    assert names_listed(client.get("/admin/leads?q=dana").text) == ["Fay", "Eli", "Dana"]


def test_a_whole_address_finds_exactly_that_lead_however_it_is_typed(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    add_lead(db, clock, settings, "Dana", email="dana@example.com")
    add_lead(db, clock, settings, "Odana", email="odana@example.com")
    token = sign_in_as(client, db, clock, "marketing")
    page = post_form(client, "/admin/leads", token, {"q": "  Dana@EXAMPLE.com "})
    assert names_listed(page.text) == ["Dana"]


def test_filters_without_search_text_redirect_to_a_bookmarkable_list(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    add_lead(db, clock, settings, "Ann")
    texted = add_lead(db, clock, settings, "Ben", phone="+12175550101")
    token = sign_in_as(client, db, clock, "marketing")
    response = post_form(client, "/admin/leads", token, {"q": "", "sms_consent": "yes"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/leads?sms_consent=yes"
    page = client.get(response.headers["location"])
    assert names_listed(page.text) == ["Ben"]
    assert f"/admin/leads/{texted}" in page.text
    assert text_by_id(page.text, "lead-count") == "1 lead found."


def test_unreadable_filters_are_named_and_the_typed_values_kept(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    add_lead(db, clock, settings, "Ann")
    sign_in_as(client, db, clock, "marketing")
    page = client.get("/admin/leads?signed_up_from=next+tuesday&booked=maybe&campaign=nope")
    assert page.status_code == 422
    shown = html.unescape(page.text)
    assert "Signed up from: 'next tuesday' is not a date" in shown
    assert "Booked: choose yes or no, not 'maybe'" in shown
    assert "Campaign: there is no campaign 'nope'" in shown
    assert form_fields(page.text)["signed_up_from"] == "next tuesday"
    assert names_listed(page.text) == ["Ann"]  # the filters that could be read still apply


def test_fifty_leads_a_page_and_the_pager_keeps_the_filters(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with db.factory.begin() as session:
        for number in range(53):
            session.add(
                Lead(
                    email=f"lead{number:02}@example.com",
                    first_name=f"Lead{number:02}",
                    source="test",
                    created_at=clock.now() + timedelta(minutes=number),
                )
            )
    sign_in_as(client, db, clock, "marketing")
    first = client.get("/admin/leads?booked=no")
    assert len(names_listed(first.text)) == 50
    assert names_listed(first.text)[0] == "Lead52"
    assert "53 in all · page 1 of 2" in first.text
    assert 'href="/admin/leads?booked=no&amp;page=2"' in first.text
    second = client.get("/admin/leads?booked=no&page=2")
    assert names_listed(second.text) == ["Lead02", "Lead01", "Lead00"]
    assert names_listed(client.get("/admin/leads?page=99").text)[-1] == "Lead00"


def test_a_searched_list_pages_by_posting_the_search_again(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    with db.factory.begin() as session:
        for number in range(51):
            session.add(
                Lead(
                    email=f"pat{number:02}@example.com",
                    first_name=f"Pat{number:02}",
                    source="test",
                    created_at=clock.now() + timedelta(minutes=number),
                )
            )
    token = sign_in_as(client, db, clock, "marketing")
    first = post_form(client, "/admin/leads", token, {"q": "pat"})
    assert (
        'name="page" value="2"' in first.text
        and "/admin/leads?" not in first.text.split('class="pager"')[1]
    )
    second = post_form(client, "/admin/leads", token, {"q": "pat", "page": "2"})
    assert names_listed(second.text) == ["Pat00"]


def sent_message(enrollment: Enrollment, step_key: str, now: datetime, **values: Any) -> Message:
    """The email row delivery writes for `step_key` once sent `now`, with `values` over it."""
    fields: dict[str, Any] = {
        "enrollment_id": enrollment.id,
        "lead_id": enrollment.lead_id,
        "campaign_id": enrollment.campaign_id,
        "step_key": step_key,
        "channel": "email",
        "status": MessageStatus.SENT,
        "due_at": now,
        "sent_at": now,
        "created_at": now,
        "updated_at": now,
    }
    return Message(**(fields | values))


def test_lead_page_shows_contact_consent_ledger_messages_replies_and_bookings(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Dana", phone="+12175550199")
    with db.factory.begin() as session:
        lead = session.scalars(select(Lead).where(Lead.public_id == public_id)).one()
        enrollment = session.scalars(select(Enrollment)).one()
        now = clock.now()
        session.add(
            sent_message(
                enrollment,
                "welcome-article",
                now,
                status=MessageStatus.DELIVERED,
                summary="Your article: tight hamstrings",
                delivered_at=now,
                opens=3,
                clicks=1,
            )
        )
        session.add(
            InboundMessage(
                provider="twilio",
                provider_id="SM1",
                channel="sms",
                lead_id=lead.id,
                sender="+12175550199",
                body="Can I come in on Friday?",
                intent="book",
                received_at=now,
            )
        )
        session.add(
            Booking(lead_id=lead.id, status=BookingStatus.REQUESTED, source="sms", created_at=now)
        )
    sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/leads/{public_id}")
    assert page.status_code == 200
    contact = text_by_id(page.text, "contact")
    assert "dana@example.com" in contact and "(217) 555-0199" in contact
    assert "America/Chicago" in contact and "article:tight-hamstrings-sciatic-nerve" in contact
    ledger = text_by_id(page.text, "consent-ledger")
    assert ledger.count("granted") == 2 and "email" in ledger and "sms" in ledger
    assert "hamstring-sciatica" in text_by_id(page.text, "messages")
    welcome = text_by_id(page.text, "message-hamstring-sciatica-welcome-article")
    assert "delivered" in welcome and "Your article: tight hamstrings" in welcome
    assert " 3 1 " in welcome  # opens, clicks
    assert "pending" in text_by_id(page.text, "messages")  # the steps still to come
    assert "Can I come in on Friday?" in text_by_id(page.text, "replies")
    assert "requested" in text_by_id(page.text, "bookings")


def test_lead_page_names_the_ab_variant_each_tested_message_was_written_from(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Dana")
    with db.factory.begin() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        summary = "Tight hamstrings? Follow the sciatic nerve from your low back"
        session.add(
            sent_message(
                enrollment, "anatomy-link", clock.now(), summary=summary, variant="nerve-path"
            )
        )
    sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/leads/{public_id}").text

    tested = text_by_id(page, "message-hamstring-sciatica-anatomy-link")
    assert "anatomy-link variant nerve-path" in tested
    assert "Email" in tested
    assert "variant" not in text_by_id(page, "message-hamstring-sciatica-welcome-article")


def test_every_time_on_a_lead_page_is_clinic_time_whatever_the_leads_zone(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    sign_in_as(client, db, clock, "marketing")
    lead = capture(db.factory, clock, settings, email="ny@example.com", timezone="America/New_York")
    page = client.get(f"/admin/leads/{lead.lead_public_id}").text
    assert text_by_id(page, "times-note") == (
        "Every time on this page is clinic time (America/Chicago)."
    )
    times = re.findall(r"\b\d{2}:\d{2} ([A-Z]{3,4})\b", page)
    assert times and set(times) == {"CST"}, times  # signed up, ledger, messages alike
    assert "America/New_York (messages go out by the lead's own clock)" in page


def test_unknown_lead_is_a_404_and_import_is_not_taken_for_a_lead(
    client: TestClient, db: Database, clock: ManualClock
) -> None:
    sign_in_as(client, db, clock, "marketing")
    assert client.get("/admin/leads/" + "0" * 32).status_code == 404
    assert client.get("/admin/leads/not-a-lead-id").status_code == 404


def test_opting_a_lead_out_of_texts_revokes_consent_as_staff_and_skips_waiting_texts(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Dana", phone="+12175550199")
    token = sign_in_as(client, db, clock, "marketing")
    response = post_form(client, f"/admin/leads/{public_id}/opt-out", token, {"channel": "sms"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/leads/{public_id}"
    page = client.get(response.headers["location"])
    assert "Opted out of text messages" in text_by_id(page.text, "notice")
    assert text_by_id(page.text, "sms-consent") == "no"
    assert text_by_id(page.text, "email-consent") == "yes"
    with db.factory() as session:
        last = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert last is not None
        assert (last.channel, last.action, last.source) == ("sms", "revoked", f"staff:{MARA}")
    [entry] = audit(db, "lead.opted_out")
    assert (entry.actor, entry.target, entry.detail) == (MARA, public_id, {"channel": "sms"})


def test_pause_then_resume_keeps_the_next_step_time(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Dana")
    with db.factory() as session:
        due_before = session.scalars(select(Enrollment.next_due_at)).one()
    token = sign_in_as(client, db, clock, "marketing")
    post_form(client, f"/admin/leads/{public_id}/pause", token)
    with db.factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.PAUSED
    page = client.get(f"/admin/leads/{public_id}")
    assert "Paused 1 sequence(s)." in text_by_id(page.text, "notice")
    assert "Resume sequences" in text_by_id(page.text, "actions")
    post_form(client, f"/admin/leads/{public_id}/resume", token)
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.status == EnrollmentStatus.ACTIVE
        assert enrollment.next_due_at == due_before
    assert [e.target for e in audit(db, "lead.paused")] == [public_id]
    assert [e.target for e in audit(db, "lead.resumed")] == [public_id]


def test_booking_a_free_slot_by_hand_confirms_it_and_ends_the_sequence(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock)
    public_id = add_lead(db, clock, settings, "Dana")
    token = sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/leads/{public_id}")
    assert TUE_0900.isoformat() in page.text  # offered in the booking form
    data = {"starts_at": TUE_0900.isoformat()}
    response = post_form(client, f"/admin/leads/{public_id}/book", token, data)
    assert response.status_code == 303
    notice = text_by_id(client.get(f"/admin/leads/{public_id}").text, "notice")
    assert "Screening booked for Tuesday, November 3 at 9:00 AM CST" in notice
    with db.factory() as session:
        booking = session.scalars(select(Booking)).one()
        assert (booking.status, booking.starts_at, booking.source) == (
            "confirmed",
            TUE_0900,
            "staff",
        )
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.EXITED
        confirmations = session.scalars(
            select(Message).where(
                Message.dedupe_key.like(f"booking:{booking.id}:booking-confirmation:%")
            )
        ).all()
        assert confirmations
    [entry] = audit(db, "lead.booked")
    assert entry.detail == {"starts_at": TUE_0900.isoformat()}


def test_booking_a_taken_slot_shows_why_on_the_lead_page(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    set_availability(db.factory, clock, capacity=1)
    first = add_lead(db, clock, settings, "Ann")
    second = add_lead(db, clock, settings, "Ben")
    token = sign_in_as(client, db, clock, "marketing")
    data = {"starts_at": TUE_0900.isoformat()}
    assert post_form(client, f"/admin/leads/{first}/book", token, data).status_code == 303
    refused = post_form(client, f"/admin/leads/{second}/book", token, data)
    assert refused.status_code == 409
    assert "cannot be booked (fully booked)" in refused.text
    assert len(audit(db, "lead.booked")) == 1


def test_removing_a_lead_from_a_campaign_ends_it_and_skips_waiting_messages_with_a_reason(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Dana")
    with db.factory.begin() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        session.add(
            Message(
                enrollment_id=enrollment.id,
                lead_id=enrollment.lead_id,
                campaign_id=enrollment.campaign_id,
                step_key="welcome-article",
                channel="email",
                status=MessageStatus.QUEUED,
                due_at=clock.now(),
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    token = sign_in_as(client, db, clock, "marketing")
    data = {"campaign": "hamstring-sciatica"}
    assert post_form(client, f"/admin/leads/{public_id}/remove", token, data).status_code == 303
    with db.factory() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.status, enrollment.end_reason) == ("exited", "removed by staff")
        message = session.scalars(select(Message)).one()
        assert (message.status, message.reason) == (
            "skipped",
            "left the campaign: removed by staff",
        )
    [entry] = audit(db, "lead.removed")
    assert (entry.target, entry.detail) == (public_id, {"campaign": "hamstring-sciatica"})


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("opt-out", {"channel": "email"}),
        ("pause", {}),
        ("remove", {"campaign": "hamstring-sciatica"}),
        ("book", {"starts_at": TUE_0900.isoformat()}),
    ],
)
def test_actions_are_refused_to_front_desk_and_without_the_csrf_token(
    app: FastAPI,
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    campaign: int,
    path: str,
    data: dict[str, str],
) -> None:
    public_id = add_lead(db, clock, settings, "Dana")
    sign_in_as(client, db, clock, "marketing")
    assert client.post(f"/admin/leads/{public_id}/{path}", data=data).status_code == 403
    with TestClient(app, follow_redirects=False) as desk_client:
        desk = sign_in_as(desk_client, db, clock, "frontdesk")
        refused = post_form(desk_client, f"/admin/leads/{public_id}/{path}", desk, data)
        assert refused.status_code == 403
        assert desk_client.get(f"/admin/leads/{public_id}").status_code == 403
        assert desk_client.get("/admin/leads").status_code == 403
        assert desk_client.get("/admin/leads/export.csv").status_code == 403
    with db.factory() as session:
        assert session.scalars(select(Enrollment.status)).one() == EnrollmentStatus.ACTIVE
        assert not session.scalars(select(AuditEntry).where(AuditEntry.action.like("lead.%"))).all()


def test_html_and_template_syntax_in_a_name_are_shown_as_text(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "<b>Jo</b> {{ 7*7 }}", email="jo@example.com")
    sign_in_as(client, db, clock, "marketing")
    for page in (client.get("/admin/leads").text, client.get(f"/admin/leads/{public_id}").text):
        assert "<b>Jo</b>" not in page
        assert "&lt;b&gt;Jo&lt;/b&gt; {{ 7*7 }}" in page
        assert "&lt;/b&gt; 49" not in page  # never evaluated as a template


def test_csv_export_has_the_filtered_leads_with_formulas_neutralised(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    add_lead(db, clock, settings, "=HYPERLINK(1)", email="eve@example.com")
    texted = add_lead(db, clock, settings, "Ben", phone="+12175550101")
    sign_in_as(client, db, clock, "marketing")
    response = client.get("/admin/leads/export.csv?sms_consent=yes")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["public_id", "first_name", "email", "phone"]
    assert [row[0] for row in rows[1:]] == [texted]
    assert rows[1][3] == "'+12175550101"  # a leading + is a formula to a spreadsheet
    everyone = list(csv.reader(io.StringIO(client.get("/admin/leads/export.csv").text)))
    assert [row[1] for row in everyone[1:]] == ["Ben", "'=HYPERLINK(1)"]
    details = [entry.detail for entry in audit(db, "lead.exported")]
    assert details == [
        {"filters": "sms_consent=yes", "search": False},
        {"filters": "", "search": False},
    ]


def test_csv_export_of_a_search_is_posted_so_the_text_stays_out_of_the_url(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    dana = add_lead(db, clock, settings, "Dana")
    add_lead(db, clock, settings, "Eli")
    token = sign_in_as(client, db, clock, "marketing")
    page = post_form(client, "/admin/leads", token, {"q": "dana"})
    assert 'action="/admin/leads/export.csv"' in page.text
    response = post_form(client, "/admin/leads/export.csv", token, {"q": "dana"})
    assert [row[0] for row in csv.reader(io.StringIO(response.text))][1:] == [dana]
    assert client.post("/admin/leads/export.csv", data={"q": "dana"}).status_code == 403


def test_staff_change_the_language_a_lead_is_written_to_in(
    client: TestClient, db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    public_id = add_lead(db, clock, settings, "Lucía")
    token = sign_in_as(client, db, clock, "marketing")
    page = client.get(f"/admin/leads/{public_id}")
    assert text_by_id(page.text, "language") == "English"
    assert "Write in Español" in page.text
    done = post_form(client, f"/admin/leads/{public_id}/language", token, {"language": "es"})
    assert done.status_code == 303
    assert text_by_id(client.get(f"/admin/leads/{public_id}").text, "language") == "Español"
    assert [(e.target, e.detail) for e in audit(db, "lead.language")] == [
        (public_id, {"language": "es"})
    ]
    refused = post_form(client, f"/admin/leads/{public_id}/language", token, {"language": "fr"})
    assert refused.status_code == 422
    assert "language: choose en or es" in refused.text
    with db.factory() as session:
        assert session.scalars(select(Lead.language)).one() == "es"
