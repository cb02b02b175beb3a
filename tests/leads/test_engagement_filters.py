"""Lead filters by engagement: opened, clicked (email or text), replied, and "not engaged
in N days", on the list, its export and the CLI; unreadable values are named."""

from __future__ import annotations

import csv
import html
import io
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.deliverability.apply import apply_events
from nurture.deliverability.events import ProviderEventIn
from nurture.leads.models import Lead
from nurture.leads.search import parse_filter, search_page
from nurture.messages.models import Message
from nurture.messages.short_links import ShortLink, follow
from nurture.replies.email_inbound import InboundEmail, receive_email
from nurture.replies.sms_inbound import InboundSms, receive_sms
from tests.factories import capture
from tests.harness import Harness
from tests.support import Database
from tests.web.admin.console import sign_in_as
from tests.web.admin.test_console_leads import names_listed

BEN_PHONE, DEE_PHONE = "+12175550101", "+12175550102"
EVERYONE = ["Eve", "Dee", "Cal", "Ben", "Ann"]  # newest first, as the list shows them
_ids = itertools.count(1)


@dataclass
class Town:
    """Five leads three hours into the seeded campaign, each of whom did one thing."""

    db: Database
    clock: ManualClock
    settings: Settings

    def names(self, **values: str) -> list[str]:
        """The first names the filter form with `values` lists."""
        with self.db.factory() as session:
            wanted, problems = parse_filter(
                session, values, self.settings.clinic_zone, self.clock.now()
            )
            assert problems == {}
            found = search_page(session, wanted, self.settings.clinic_zone)
            return [row.first_name for row in found.rows]

    def tap(self, name: str, step: str) -> None:
        """The lead follows the article link in their `step` message."""
        with self.db.factory.begin() as session:
            code = session.scalars(
                select(ShortLink.code)
                .join(Message, Message.id == ShortLink.message_id)
                .join(Lead, Lead.id == Message.lead_id)
                .where(Lead.first_name == name, Message.step_key == step)
                .where(ShortLink.name == "article")
            ).one()
            follow(session, self.settings, code, self.clock.now(), count=True)

    def opens(self, name: str, step: str) -> None:
        """SendGrid reports that the lead opened their `step` email."""
        with self.db.factory.begin() as session:
            ref = session.scalars(
                select(Message.ref)
                .join(Lead, Lead.id == Message.lead_id)
                .where(Lead.first_name == name, Message.step_key == step)
            ).one()
            event = ProviderEventIn(
                index=0,
                event_id=f"sg-open-{next(_ids)}",
                kind="open",
                message_ref=ref,
                email=f"{name.lower()}@example.com",
                occurred_at=self.clock.now(),
                hard_bounce=False,
                status=None,
                reason=None,
            )
            apply_events(session, [event], self.clock.now(), self.settings)


@pytest.fixture
def town(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> Town:
    """Ann opens her welcome email, Ben taps the link in his first text, Cal replies by
    email, Dee texts STOP (an opt-out, not a reply), Eve does nothing."""
    for name, phone in (("Ann", None), ("Ben", BEN_PHONE), ("Cal", None), ("Dee", DEE_PHONE)):
        capture(
            db.factory,
            clock,
            settings,
            email=f"{name.lower()}@example.com",
            first_name=name,
            phone=phone,
        )
    capture(db.factory, clock, settings, email="eve@example.com", first_name="Eve", phone=None)
    Harness(db, clock, settings).run_for(timedelta(hours=3))  # the welcome email, sms-hello
    found = Town(db, clock, settings)
    found.opens("Ann", "welcome-article")
    found.tap("Ben", "sms-hello")
    reply = InboundEmail(
        f"<reply-{next(_ids)}@example.com>",
        "cal@example.com",
        ("hello@riverside-pt.example",),
        "Re: your guide",
        "Thank you, does this work for runners too?",
    )
    with db.factory.begin() as session:
        receive_email(session, settings, reply, clock.now())
        receive_sms(
            session, settings, InboundSms(f"SM{next(_ids):032d}", DEE_PHONE, "STOP"), clock.now()
        )
    return found


def test_opened_finds_the_leads_who_opened_an_email_and_no_finds_the_rest(town: Town) -> None:
    assert town.names(opened="yes") == ["Ann"]
    assert town.names(opened="no") == ["Eve", "Dee", "Cal", "Ben"]


def test_clicked_counts_a_tap_on_a_texts_link(town: Town) -> None:
    assert town.names(clicked="yes") == ["Ben"]
    assert town.names(clicked="no") == ["Eve", "Dee", "Cal", "Ann"]


def test_clicked_counts_a_click_in_an_email_too(town: Town) -> None:
    town.tap("Eve", "welcome-article")
    assert town.names(clicked="yes") == ["Eve", "Ben"]


def test_replied_finds_a_reply_but_not_a_stop(town: Town) -> None:
    assert town.names(replied="yes") == ["Cal"]
    assert town.names(replied="no") == ["Eve", "Dee", "Ben", "Ann"]


def test_not_engaged_in_n_days_leaves_out_who_opened_clicked_or_replied_lately(
    town: Town,
) -> None:
    assert town.names(not_engaged_days="1") == ["Eve", "Dee"]
    town.clock.advance(timedelta(days=10))
    assert town.names(not_engaged_days="30") == ["Eve", "Dee"]
    assert town.names(not_engaged_days="7") == EVERYONE
    # Ben taps his ten-day-old text again: the link's latest click counts, not its first.
    town.tap("Ben", "sms-hello")
    assert town.names(not_engaged_days="7") == ["Eve", "Dee", "Cal", "Ann"]
    # Filters combine: quiet for a week, but opened something before.
    assert town.names(not_engaged_days="7", opened="yes") == ["Ann"]


def test_an_unreadable_engagement_filter_is_a_422_naming_the_field(
    client: TestClient, db: Database, clock: ManualClock, town: Town
) -> None:
    sign_in_as(client, db, clock, "marketing")
    days = "Not engaged in (days): a whole number of days from 1 to 3650, not {!r}"
    for query, problem in (
        *(
            (f"not_engaged_days={typed}", days.format(shown))
            for typed, shown in (("soon", "soon"), ("0", "0"), ("-3", "-3"), ("%C2%B2", "²"))
        ),
        ("not_engaged_days=99999", days.format("99999")),
        ("opened=maybe", "Opened an email: choose yes or no, not 'maybe'"),
        ("clicked=1", "Clicked a link: choose yes or no, not '1'"),
        ("replied=sometimes", "Replied: choose yes or no, not 'sometimes'"),
    ):
        page = client.get(f"/admin/leads?{query}")
        assert page.status_code == 422, query
        assert problem in html.unescape(page.text), query
    # The filters that could be read still apply.
    page = client.get("/admin/leads?not_engaged_days=soon&clicked=yes")
    assert names_listed(page.text) == ["Ben"]


def test_the_list_and_its_export_keep_the_engagement_filters(
    client: TestClient, db: Database, clock: ManualClock, town: Town
) -> None:
    sign_in_as(client, db, clock, "marketing")
    page = client.get("/admin/leads?clicked=yes&not_engaged_days=30")
    assert page.status_code == 200
    assert names_listed(page.text) == []  # Ben clicked today: engaged
    page = client.get("/admin/leads?replied=no&not_engaged_days=1")
    assert names_listed(page.text) == ["Eve", "Dee"]
    assert "not_engaged_days=1" in page.text and "replied=no" in page.text  # export and pager
    export = client.get("/admin/leads/export.csv?replied=no&not_engaged_days=1")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(row["first_name"] for row in rows) == ["Dee", "Eve"]


def test_variant_finds_the_leads_sent_that_variant_of_a_tested_step(
    db: Database, clock: ManualClock, settings: Settings, campaign: int
) -> None:
    for n in range(16):
        capture(db.factory, clock, settings, email=f"v{n}@example.com", first_name=f"V{n}")
    Harness(db, clock, settings).run_for(timedelta(days=6), step=timedelta(hours=6))
    with db.factory() as session:
        written = dict(
            session.execute(
                select(Lead.first_name, Message.variant)
                .join(Message, Message.lead_id == Lead.id)
                .where(Message.step_key == "anatomy-link")
            ).all()
        )
    assert len(written) == 16 and None not in written.values()  # the seeded A/B test
    # Both variants went out (16 leads at 1:1: all on one side once in 32,768 runs).
    assert len(set(written.values())) == 2
    town = Town(db, clock, settings)
    for variant in set(written.values()):
        expected = {name for name, got in written.items() if got == variant}
        assert set(town.names(variant=variant)) == expected
    assert town.names(variant="no-such-variant") == []
    with db.factory() as session:
        _, problems = parse_filter(session, {"variant": "Not a key!"}, settings.clinic_zone)
    assert problems == {
        "variant": "a variant's key as the campaign file names it, not 'Not a key!'"
    }
