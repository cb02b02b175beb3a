"""Delivery: claim a queued message, gate it, render it, hand it off once, record the outcome.

The claim (queued -> sending) is committed before the provider is called, so a
worker that dies mid hand-off leaves a "sending" row: `expire_abandoned` later marks
it unknown instead of sending it again (invariant 1).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

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
    ProviderResult,
    RetryableError,
    SmsChannel,
)
from nurture.messages.compose import compose_email, compose_notice, compose_sms
from nurture.messages.facts import campaign_facts, notice_facts
from nurture.messages.gate import Decision, gate
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.messages.render import TemplateProblem
from nurture.sequences.models import Enrollment

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 300.0  # DESIGN: countdowns stay short; longer waits are the DB's job


@dataclass(frozen=True, slots=True)
class Retry:
    message_id: int
    countdown: float


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
    ) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.email, self.sms = email, sms
        self.policy = SendingPolicy.from_settings(settings)

    def deliver_batch(self, message_ids: Sequence[int]) -> list[Retry]:
        """Deliver each message; returns the ones to try again later."""
        retries = []
        for message_id in message_ids:
            retry = self.deliver_one(message_id)
            if retry is not None:
                retries.append(retry)
        return retries

    def _claim(self, message_id: int) -> bool:
        now = self.clock.now()
        with self.factory.begin() as session:
            claimed = session.scalar(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
                .values(
                    status=MessageStatus.SENDING,
                    attempts=Message.attempts + 1,
                    handed_off_at=now,
                    updated_at=now,
                )
                .returning(Message.id)
            )
        return claimed is not None

    def _finish(self, message_id: int, status: MessageStatus, **values: object) -> None:
        now = self.clock.now()
        with self.factory.begin() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.SENDING)
                .values(status=status, updated_at=now, **values)
            )

    def deliver_one(self, message_id: int) -> Retry | None:
        """Take one queued message through gate, render and hand-off."""
        if not self._claim(message_id):
            return None  # another worker has it, or it is already settled
        with self.factory.begin() as session:
            prepared = self._prepare(session, message_id)
        if isinstance(prepared, tuple):
            status, values = prepared
            self._finish(message_id, status, **values)
            return None
        return self._hand_off(message_id, prepared)

    def _prepare(
        self, session: Session, message_id: int
    ) -> OutboundEmail | OutboundSms | tuple[MessageStatus, dict[str, object]]:
        message = session.get_one(Message, message_id)
        lead = session.get_one(Lead, message.lead_id)
        now = self.clock.now()
        if message.kind == MessageKind.TRANSACTIONAL:
            facts = notice_facts(session, self.settings, self.policy, lead=lead, message=message)
            return self._decide(gate(facts, now)) or compose_notice(self.settings, lead, message)
        enrollment = session.get_one(Enrollment, message.enrollment_id)
        definition = load_version(session, enrollment.campaign_version_id)
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

    @staticmethod
    def _decide(decision: Decision) -> tuple[MessageStatus, dict[str, object]] | None:
        """The status a gate refusal settles on, or None when the message may go."""
        if decision.action == "skip":
            return MessageStatus.SKIPPED, {"reason": decision.reason}
        if decision.action == "hold":
            return MessageStatus.HELD, {"reason": decision.reason, "due_at": decision.hold_until}
        return None

    def _hand_off(self, message_id: int, outbound: OutboundEmail | OutboundSms) -> Retry | None:
        result: ProviderResult
        try:
            if isinstance(outbound, OutboundEmail):
                result = self.email.send(outbound)
            else:
                result = self.sms.send(outbound)
        except RetryableError as exc:
            return self._retry_or_fail(message_id, exc)
        except PermanentError as exc:
            self._fail_permanently(message_id, outbound, exc)
            return None
        except OutcomeUnknownError as exc:
            # The provider may have accepted it: at most once beats at least once here.
            self._finish(message_id, MessageStatus.UNKNOWN, reason=f"outcome unknown: {exc}"[:300])
            return None
        except Exception as exc:
            # The provider may or may not have the message: never guess, never resend.
            log.exception("unexpected error handing off message %s", message_id)
            self._finish(
                message_id, MessageStatus.UNKNOWN, reason=f"hand-off error: {type(exc).__name__}"
            )
            return None
        self._finish(
            message_id,
            MessageStatus.SENT,
            provider_id=result.provider_id[:100] or None,
            sent_at=self.clock.now(),
            reason=None,
        )
        return None

    def _retry_or_fail(self, message_id: int, exc: RetryableError) -> Retry | None:
        with self.factory.begin() as session:
            attempts = session.get_one(Message, message_id).attempts
        if attempts >= self.settings.max_delivery_attempts:
            self._finish(
                message_id,
                MessageStatus.FAILED,
                reason=f"gave up after {attempts} attempts: {exc}"[:300],
            )
            return None
        countdown = backoff(attempts, exc.retry_after)
        # enqueued_at in the future keeps the lost-task sweeper away until the retry is due.
        scaled = timedelta(seconds=countdown * self.settings.time_scale)
        self._finish(
            message_id,
            MessageStatus.QUEUED,
            reason=f"retrying: {exc}"[:300],
            enqueued_at=self.clock.now() + scaled,
        )
        return Retry(message_id, countdown)

    def _fail_permanently(
        self, message_id: int, outbound: OutboundEmail | OutboundSms, exc: PermanentError
    ) -> None:
        now = self.clock.now()
        with self.factory.begin() as session:
            if exc.suppress:
                channel = Channel.EMAIL if isinstance(outbound, OutboundEmail) else Channel.SMS
                suppress(session, channel, outbound.to, f"provider error {exc.code}", now)
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.SENDING)
                .values(status=MessageStatus.FAILED, reason=str(exc)[:300], updated_at=now)
            )


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
