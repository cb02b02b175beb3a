"""A lead with a history on every console page: enrolled, emailed, a question, a booking,
and a member of staff for the staff pages to act on.

Built through the real services (capture, dispatch and delivery, the SMS webhook's
service, booking), so each page shows them the way it would in the clinic.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from nurture.booking.service import book_slot
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.replies.models import InboxItem
from nurture.replies.sms_inbound import InboundSms, receive_sms
from tests.booking.clinic import TUE_0900, set_availability
from tests.factories import capture
from tests.harness import Harness
from tests.staff.accounts import staff_user
from tests.support import Database

CAMPAIGN_SLUG = "hamstring-sciatica"
FIRST_STEP = "welcome-article"
PHONE = "+12175550123"


@dataclass(frozen=True, slots=True)
class LeadWithHistory:
    public_id: str
    inbox_item_id: int
    booking_id: int
    staff_id: int

    def path_values(self) -> dict[str, str]:
        """Real values for the path parameters console routes are likely to name."""
        values = {"slug": CAMPAIGN_SLUG, "campaign": CAMPAIGN_SLUG, "campaign_slug": CAMPAIGN_SLUG}
        values |= dict.fromkeys(("public_id", "lead", "lead_id", "lead_public_id"), self.public_id)
        values |= dict.fromkeys(("step", "step_key", "key"), FIRST_STEP)
        values |= dict.fromkeys(("item_id", "inbox_id", "item"), str(self.inbox_item_id))
        values |= dict.fromkeys(("booking_id", "booking"), str(self.booking_id))
        values |= dict.fromkeys(("user_id", "staff_id"), str(self.staff_id))
        values["move"] = "confirm"  # /admin/bookings/{booking_id}/{move}
        return values


def lead_with_history(
    db: Database, clock: ManualClock, settings: Settings, first_name: str = "Dana"
) -> LeadWithHistory:
    """Capture a lead, send their welcome email, take a question by text and book them in.

    The campaign must be synced already (the `campaign` fixture).
    """
    lead = capture(db.factory, clock, settings, first_name=first_name, phone=PHONE)
    Harness(db, clock, settings).dispatch()
    with db.factory.begin() as session:
        receive_sms(
            session, settings, InboundSms("SM" + "7" * 32, PHONE, "what is this?"), clock.now()
        )
        item_id = session.scalars(
            select(InboxItem.id).where(InboxItem.lead_id == lead.lead_id)
        ).one()
    set_availability(db.factory, clock)
    with db.factory.begin() as session:
        booking = book_slot(
            session, settings, lead.lead_id, TUE_0900, source="test", now=clock.now()
        )
        booking_id = booking.id
    staff_id = staff_user(db, clock, email="fran@riverside-pt.example", role="frontdesk")
    return LeadWithHistory(lead.lead_public_id, item_id, booking_id, staff_id)
