"""Delivery: claim a queued message, gate it, render it, hand it off once, record the outcome.

The claim (queued -> sending) is committed before the provider is called, so a
worker that dies mid hand-off leaves a "sending" row: `expire_abandoned` later marks
it unknown instead of sending it again (invariant 1).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import load_version
from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.ledger import suppress
from nurture.consent.models import Channel
from nurture.consent.policy import SendingPolicy
from nurture.leads.models import Lead
from nurture.messages.channels.base import (
    EmailChannel,
    OutboundEmail,
    OutboundSms,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SmsChannel,
)
from nurture.messages.compose import compose_email, compose_notice, compose_sms
from nurture.messages.facts import campaign_facts, notice_facts
from nurture.messages.gate import Decision, gate
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.messages.render import TemplateProblem
from nurture.sequences.models import Enrollment
from nurture.telemetry.counters import CounterStore, MemoryCounters, ProviderCall, record_calls

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 300.0  # DESIGN: countdowns stay short; longer waits are the DB's job
PAUSED_CAMPAIGN = "campaign paused by staff"


@dataclass(frozen=True, slots=True)
class Retry:
    message_id: int
    countdown: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a hand-off ended in, to be written with the next commit."""

    message_id: int
    status: MessageStatus
    values: dict[str, object]
    suppression: tuple[Channel, str, str] | None = None
    retry: Retry | None = None
    call: ProviderCall | None = None  # for the provider metrics


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: exponential, or the provider's ask, capped."""
    wait = retry_after if retry_after else RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(wait, RETRY_CAP_SECONDS)


class Delivery:
    """Delivers outbox rows through the configured channels."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
        email: EmailChannel,
        sms: SmsChannel,
        counters: CounterStore | None = None,
    ) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.email, self.sms = email, sms
        self.counters = counters or MemoryCounters()
        self.policy = SendingPolicy.from_settings(settings)
        self._definitions: dict[int, CampaignDefinition] = {}

    def deliver_batch(self, message_ids: Sequence[int]) -> list[Retry]:
        """Deliver each message; returns the ones to try again later.

        A message's outcome is written in the same commit that claims the next one
        (one commit per message instead of two). At most one message per worker is
        ever "sending" without a recorded outcome, so a crash leaves at most one
        unknown, exactly as before.
        """
        retries: list[Retry] = []
        calls: list[ProviderCall] = []
        pending: Outcome | None = None
        for message_id in message_ids:
            with self.factory.begin() as session:
                if pending is not None:
                    self._record(session, pending)
                    pending = None
                outbound = self._claim_and_prepare(session, message_id)
            if outbound is not None:
                pending = self._hand_off(message_id, *outbound)
                if pending.retry is not None:
                    retries.append(pending.retry)
                if pending.call is not None:
                    calls.append(pending.call)
        if pending is not None:
            with self.factory.begin() as session:
                self._record(session, pending)
        record_calls(self.counters, calls)
        return retries

    def deliver_one(self, message_id: int) -> Retry | None:
        """Take one queued message through gate, render and hand-off."""
        retries = self.deliver_batch([message_id])
        return retries[0] if retries else None

    def claim(self, session: Session, message_id: int) -> bool:
        """Mark a queued message as being handed off (queued -> sending); False if taken.

        A claim is not an attempt: the gate may still hold it (quiet hours, a window,
        the cap). Only a hand-off to the provider counts (invariant 8), see `_counted`.
        """
        now = self.clock.now()
        claimed = session.scalar(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.SENDING, handed_off_at=now, updated_at=now)
            .returning(Message.id)
        )
        return claimed is not None

    @staticmethod
    def _counted(session: Session, message_id: int) -> int:
        """Count the hand-off about to be made, in the claim's commit; the attempt number."""
        attempts: int = session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(attempts=Message.attempts + 1)
            .returning(Message.attempts)
        ).scalar_one()
        return attempts

    def _settle(
        self, session: Session, message_id: int, status: MessageStatus, **values: object
    ) -> None:
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.SENDING)
            .values(status=status, updated_at=self.clock.now(), **values)
        )

    def _claim_and_prepare(
        self, session: Session, message_id: int
    ) -> tuple[OutboundEmail | OutboundSms, int] | None:
        # Claim, gate and render commit together, before the provider is called: a
        # crash before this commit leaves the message queued (nothing was sent), a
        # crash after it leaves it "sending" (it may have been sent: never resent).
        if not self.claim(session, message_id):
            return None  # another worker has it, or it is already settled
        try:
            prepared = self._prepare(session, message_id)
        except Exception as exc:  # a bug must not turn into a message retried forever
            log.exception("could not prepare message %s", message_id)
            prepared = MessageStatus.FAILED, {"reason": f"internal error: {type(exc).__name__}"}
        if isinstance(prepared, tuple):
            status, values = prepared
            self._settle(session, message_id, status, **values)
            return None
        return prepared, self._counted(session, message_id)

    def _prepare(
        self, session: Session, message_id: int
    ) -> OutboundEmail | OutboundSms | tuple[MessageStatus, dict[str, object]]:
        message, lead, enrollment, campaign_status = session.execute(
            select(Message, Lead, Enrollment, Campaign.status)
            .join(Lead, Lead.id == Message.lead_id)
            .outerjoin(Enrollment, Enrollment.id == Message.enrollment_id)
            .outerjoin(Campaign, Campaign.id == Message.campaign_id)
            .where(Message.id == message_id)
        ).one()
        now = self.clock.now()
        if message.kind == MessageKind.TRANSACTIONAL or enrollment is None:
            facts = notice_facts(
                session, self.settings, self.policy, lead=lead, message=message, now=now
            )
            return self._decide(gate(facts, now)) or compose_notice(self.settings, lead, message)
        if campaign_status == CampaignStatus.PAUSED:
            # Neither sent nor skipped: it waits, due as before, and the dispatcher
            # releases it when the campaign is active again (see release_held).
            return MessageStatus.HELD, {"reason": PAUSED_CAMPAIGN}
        definition = self._definition(session, enrollment.campaign_version_id)
        step = definition.spec.step(message.step_key)
        facts = campaign_facts(
            session,
            self.settings,
            self.policy,
            lead=lead,
            enrollment=enrollment,
            step=step,
            message=message,
            now=now,
        )
        settled = self._decide(gate(facts, now))
        if settled:
            return settled
        try:
            if step.channel is Channel.EMAIL:
                email = compose_email(self.settings, lead, definition, step, message.ref)
                message.summary = email.subject[:200]
                return email
            sms = compose_sms(self.settings, lead, definition, step, message.ref)
            message.summary = sms.body[:200]
            return sms
        except TemplateProblem as exc:
            return MessageStatus.FAILED, {"reason": f"template error: {exc}"[:300]}

    def _definition(self, session: Session, version_id: int) -> CampaignDefinition:
        # Versions never change once written, so parsing each once per process is safe.
        if version_id not in self._definitions:
            self._definitions[version_id] = load_version(session, version_id)
        return self._definitions[version_id]

    @staticmethod
    def _decide(decision: Decision) -> tuple[MessageStatus, dict[str, object]] | None:
        """The status a gate refusal settles on, or None when the message may go."""
        if decision.action == "skip":
            return MessageStatus.SKIPPED, {"reason": decision.reason}
        if decision.action == "hold":
            return MessageStatus.HELD, {"reason": decision.reason, "due_at": decision.hold_until}
        return None

    def _hand_off(
        self, message_id: int, outbound: OutboundEmail | OutboundSms, attempts: int
    ) -> Outcome:
        """Call the provider once and say what to record; nothing is written here."""
        started = time.perf_counter()
        outcome, said = self._call_provider(message_id, outbound, attempts)
        email = isinstance(outbound, OutboundEmail)
        provider, channel = (self.email.name, "email") if email else (self.sms.name, "sms")
        seconds = time.perf_counter() - started
        return replace(outcome, call=ProviderCall(provider, channel, said, seconds))

    def _call_provider(
        self, message_id: int, outbound: OutboundEmail | OutboundSms, attempts: int
    ) -> tuple[Outcome, str]:
        """The outcome to record, and what the provider said (the metrics' label)."""
        channel = Channel.EMAIL if isinstance(outbound, OutboundEmail) else Channel.SMS
        try:
            if isinstance(outbound, OutboundEmail):
                result = self.email.send(outbound)
            else:
                result = self.sms.send(outbound)
        except RetryableError as exc:
            return self._retry_or_fail(message_id, exc, attempts), "retryable"
        except PermanentError as exc:
            suppression = (
                (channel, outbound.to, f"provider error {exc.code}") if exc.suppress else None
            )
            reason: dict[str, object] = {"reason": str(exc)[:300]}
            return Outcome(message_id, MessageStatus.FAILED, reason, suppression), "permanent"
        except OutcomeUnknownError as exc:
            # The provider may have accepted it: at most once beats at least once here.
            unknown: dict[str, object] = {"reason": f"outcome unknown: {exc}"[:300]}
            return Outcome(message_id, MessageStatus.UNKNOWN, unknown), "unknown"
        except Exception as exc:
            # The provider may or may not have the message: never guess, never resend.
            log.exception("unexpected error handing off message %s", message_id)
            error: dict[str, object] = {"reason": f"hand-off error: {type(exc).__name__}"}
            return Outcome(message_id, MessageStatus.UNKNOWN, error), "unknown"
        values: dict[str, object] = {
            "provider_id": result.provider_id[:100] or None,
            "sent_at": self.clock.now(),
            "reason": None,
        }
        return Outcome(message_id, MessageStatus.SENT, values), "sent"

    def _retry_or_fail(self, message_id: int, exc: RetryableError, attempts: int) -> Outcome:
        if attempts >= self.settings.max_delivery_attempts:
            reason = f"gave up after {attempts} attempts: {exc}"[:300]
            return Outcome(message_id, MessageStatus.FAILED, {"reason": reason})
        countdown = backoff(attempts, exc.retry_after)
        # enqueued_at in the future keeps the lost-task sweeper away until the retry is due.
        scaled = timedelta(seconds=countdown * self.settings.time_scale)
        values: dict[str, object] = {
            "reason": f"retrying: {exc}"[:300],
            "enqueued_at": self.clock.now() + scaled,
        }
        return Outcome(message_id, MessageStatus.QUEUED, values, retry=Retry(message_id, countdown))

    def _record(self, session: Session, outcome: Outcome) -> None:
        if outcome.suppression is not None:
            channel, address, reason = outcome.suppression
            suppress(session, channel, address, reason, self.clock.now())
        self._settle(session, outcome.message_id, outcome.status, **outcome.values)


def expire_abandoned(factory: sessionmaker[Session], now: datetime, lease: timedelta) -> int:
    """Mark hand-offs whose worker died as unknown; they are never re-sent automatically."""
    with factory.begin() as session:
        return len(
            session.scalars(
                update(Message)
                .where(
                    Message.status == MessageStatus.SENDING,
                    Message.handed_off_at <= now - lease,
                )
                .values(
                    status=MessageStatus.UNKNOWN,
                    reason="worker stopped during hand-off; not re-sent to avoid a duplicate",
                    updated_at=now,
                )
                .returning(Message.id)
            ).all()
        )
