"""The conversation: one reply's intent turned into actions and the answer to give.

It never sends anything itself: SMS answers go back in the webhook's TwiML response,
email answers are queued as notices (nurture.replies.email_inbound). Answers carry no
marketing; bookings send their own confirmations (nurture.booking.notices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.booking.display import when
from nurture.booking.models import Booking
from nurture.booking.service import book_slot, cancel_booking, upcoming_booking
from nurture.booking.slots import SlotUnavailable, open_slots
from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.locations.directory import lead_settings
from nurture.replies import consent
from nurture.replies.inbox import open_item, pause_sequences
from nurture.replies.intent import Classified, Context, Intent, classify
from nurture.replies.models import OfferPurpose, SlotOffer
from nurture.replies.offers import close_offers, make_offer, offered_starts, open_offer
from nurture.replies.slot_choice import SlotChoice
from nurture.replies.texts import reply_text

# Enough slots to find "Thursday at 3:30" three weeks out.
CHOICE_LOOKAHEAD = 500


@dataclass(frozen=True, slots=True)
class Answer:
    intent: Intent
    text: str | None = None  # None: nothing to say (already said, or said by Twilio)
    inbox_item_id: int | None = None
    booking_changed: bool = False  # the booking's own notices tell the person the details


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who wrote: the lead we answer, and every lead at that address (STOP covers all)."""

    lead: Lead
    lead_ids: tuple[int, ...]
    address: str
    channel: Channel


class Conversation:
    """Answers one reply from a known lead, within the caller's transaction."""

    def __init__(
        self, session: Session, settings: Settings, speaker: Speaker, now: datetime
    ) -> None:
        self.session, self.speaker, self.now = session, speaker, now
        self.lead, self.channel = speaker.lead, speaker.channel
        # Answered as the lead's location: its name, hours, slots and zone.
        self.settings, place = lead_settings(session, settings, self.lead.id)
        self.location_id = place.id
        self.zone = lead_zone(self.lead.timezone, self.lead.phone, settings.clinic_zone)
        self.intent = Intent.OTHER

    def answer(self, text: str, forced: Intent | None = None) -> Answer:
        """Read `text` (or take the intent a provider already recognised) and act on it."""
        booking = upcoming_booking(self.session, self.lead.id)
        offer = open_offer(self.session, self.lead.id, self.now)
        context = Context(
            self.now, self.zone, len(offer.starts) if offer else 0, booking is not None
        )
        classified = Classified(forced) if forced else classify(text, context)
        self.intent = classified.intent
        handlers: dict[Intent, Callable[[Classified, Booking | None, SlotOffer | None], Answer]]
        handlers = {
            Intent.STOP: self._stop,
            Intent.HELP: self._help,
            Intent.START: self._start,
            Intent.BOOK: self._book,
            Intent.SLOT_CHOICE: self._choice,
            Intent.CANCEL: self._cancel,
            Intent.RESCHEDULE: self._reschedule,
            Intent.OTHER: self._question,
        }
        return handlers[classified.intent](classified, booking, offer)

    def _say(self, name: str, **values: Any) -> str:
        language = self.speaker.lead.language
        return reply_text(self.settings, name, self.channel.value, language, **values)

    def _label(self, moment: datetime | None) -> str:
        return when(moment, self.zone, self.lead.language).short if moment is not None else ""

    def _stop(self, _: Classified, __: Booking | None, ___: SlotOffer | None) -> Answer:
        source = f"{self.channel.value}:STOP"
        stopped = consent.stop(self.session, self.speaker.lead_ids, self.channel, source, self.now)
        # One confirmation: a second STOP from someone already opted out gets silence.
        return Answer(self.intent, self._say("stop") if stopped else None)

    def _help(self, _: Classified, __: Booking | None, ___: SlotOffer | None) -> Answer:
        return Answer(self.intent, self._say("help"))

    def _start(
        self, classified: Classified, booking: Booking | None, offer: SlotOffer | None
    ) -> Answer:
        subscribed = consent.restart(
            self.session,
            self.speaker.lead_ids,
            self.channel,
            source=f"{self.channel.value}:START",
            address=self.speaker.address,
            clinic_name=self.settings.clinic_name,
            now=self.now,
        )
        if not subscribed:
            return self._question(classified, booking, offer)
        return Answer(self.intent, self._say("start"))

    def _book(self, _: Classified, booking: Booking | None, __: SlotOffer | None) -> Answer:
        if booking is not None and booking.starts_at is not None:
            return Answer(
                self.intent, self._say("already_booked", when=self._label(booking.starts_at))
            )
        return self._offer(OfferPurpose.BOOK)

    def _offer(
        self, purpose: OfferPurpose, problem: str | None = None, start: datetime | None = None
    ) -> Answer:
        slots = make_offer(
            self.session,
            self.settings,
            lead_id=self.lead.id,
            channel=self.channel.value,
            purpose=purpose,
            now=self.now,
            start=start,
            location_id=self.location_id,
        )
        if not slots:
            item_id = self._to_staff("no open screening times")
            return Answer(self.intent, self._say("no_slots"), item_id)
        labels = [self._label(slot.starts_at) for slot in slots]
        return Answer(
            self.intent, self._say("offer", slots=labels, purpose=purpose, problem=problem)
        )

    def _choice(
        self, classified: Classified, booking: Booking | None, offer: SlotOffer | None
    ) -> Answer:
        choice = classified.choice or SlotChoice()
        moving = booking is not None and booking.starts_at is not None
        purpose = OfferPurpose.RESCHEDULE if moving else OfferPurpose.BOOK
        target = self._target(choice, offer)
        if target is None:
            start = choice.window(self.zone, self.now)[0] if choice.day else None
            return self._offer(purpose, "no_match", start)
        if booking is not None and booking.starts_at == target:
            return Answer(self.intent, self._say("already_booked", when=self._label(target)))
        try:
            book_slot(
                self.session,
                self.settings,
                self.lead.id,
                target,
                source=f"{self.channel.value}-reply",
                now=self.now,
                offered_at=offer.offered_at if offer and target in offered_starts(offer) else None,
            )
        except SlotUnavailable as exc:
            return self._offer(purpose, "taken" if exc.reason == "fully booked" else "no_match")
        close_offers(self.session, self.lead.id, self.now)
        text = self._say("booked", when=self._label(target), moved=moving)
        return Answer(self.intent, text, booking_changed=True)

    def _target(self, choice: SlotChoice, offer: SlotOffer | None) -> datetime | None:
        """The slot start a choice points at: the offer's first, then any open slot."""
        offered = offered_starts(offer) if offer else []
        if choice.number is not None:
            return offered[choice.number - 1] if 0 < choice.number <= len(offered) else None
        for start in offered:
            if choice.matches(start.astimezone(self.zone)):
                return start
        start, end = choice.window(self.zone, self.now)
        for slot in open_slots(
            self.session,
            self.settings,
            now=self.now,
            start=start,
            end=end,
            limit=CHOICE_LOOKAHEAD,
            location_id=self.location_id,
        ):
            if choice.matches(slot.starts_at.astimezone(self.zone)):
                return slot.starts_at
        return None

    def _cancel(
        self, classified: Classified, booking: Booking | None, offer: SlotOffer | None
    ) -> Answer:
        if booking is None:
            return self._question(classified, booking, offer)
        label = self._label(booking.starts_at)
        cancel_booking(
            self.session,
            self.settings,
            booking.id,
            source=f"{self.channel.value}-reply",
            now=self.now,
        )
        close_offers(self.session, self.lead.id, self.now)
        return Answer(self.intent, self._say("cancelled", when=label), booking_changed=True)

    def _reschedule(
        self, classified: Classified, booking: Booking | None, offer: SlotOffer | None
    ) -> Answer:
        if booking is None:
            return self._question(classified, booking, offer)
        if classified.choice is not None:
            return self._choice(classified, booking, offer)
        return self._offer(OfferPurpose.RESCHEDULE)

    def _question(self, _: Classified, __: Booking | None, ___: SlotOffer | None) -> Answer:
        self.intent = Intent.OTHER
        item_id, created = self._staff_item("question")
        # One acknowledgement per open item: a follow-up joins it quietly.
        return Answer(self.intent, self._say("acknowledged") if created else None, item_id)

    def _to_staff(self, reason: str) -> int:
        return self._staff_item(reason)[0]

    def _staff_item(self, reason: str) -> tuple[int, bool]:
        item, created = open_item(
            self.session,
            lead_id=self.lead.id,
            sender=self.speaker.address,
            channel=self.channel.value,
            reason=reason,
            now=self.now,
        )
        pause_sequences(self.session, self.lead.id)
        return item.id, created
