"""Delivery, a batch at a time: claim, gate, render and pace the whole batch in one
commit; hand its messages off concurrently; record every outcome in one more commit.

The claim (queued -> sending) commits before any provider is called, so a worker that
dies mid-batch leaves its claimed rows "sending": `expire_abandoned` later marks them
unknown instead of sending them again (invariants 1 and 9). A crash before that commit
leaves the batch queued, and the sweeper enqueues it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.conditions import History, rules_for
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import CampaignStatus
from nurture.campaigns.spec import StepSpec
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.clock import Clock
from nurture.config import Settings
from nurture.consent.ledger import suppress
from nurture.consent.policy import SendingPolicy
from nurture.locations.directory import Locations
from nurture.messages import outbox
from nurture.messages.channels.base import (
    EmailChannel,
    OutboundEmail,
    OutboundSms,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SmsChannel,
)
from nurture.messages.compose import compose_email, compose_notice, compose_sms, message_context
from nurture.messages.facts import (
    BatchState,
    Loaded,
    campaign_gate_facts,
    load_batch,
    notice_address,
    notice_gate_facts,
)
from nurture.messages.gate import Action, Decision, gate
from nurture.messages.handoff import HandOffs, Prepared
from nurture.messages.history import load_histories
from nurture.messages.models import STEP_KINDS, Message, MessageKind, MessageStatus
from nurture.messages.pacing import MemoryPacer, Pacer
from nurture.messages.render import TemplateProblem, render_sms
from nurture.messages.segments import count_segments
from nurture.messages.senders import sender_for
from nurture.messages.short_links import Link, record_links
from nurture.replies.call_backs import open_call_back
from nurture.telemetry.counters import CounterStore, MemoryCounters, ProviderCall, record_calls

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 10.0
RETRY_CAP_SECONDS = 300.0  # DESIGN: countdowns stay short; longer waits are the DB's job
BEYOND_ANY_WINDOW = 86_400.0  # seconds: a reservation the sender must honour, however far


@dataclass(frozen=True, slots=True)
class Retry:
    message_id: int
    countdown: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a hand-off ended in, to be recorded with the rest of the batch."""

    move: outbox.Move
    suppression: tuple[Channel, str, str] | None = None
    retry: Retry | None = None
    call: ProviderCall | None = None  # for the provider metrics


def rate_units(outbound: OutboundEmail | OutboundSms) -> int:
    """How much of its sender's rate a hand-off uses: a text's segments, one email."""
    if isinstance(outbound, OutboundSms):
        return count_segments(outbound.body).segments
    return 1


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: exponential, or the provider's ask, capped."""
    wait = retry_after if retry_after else RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(wait, RETRY_CAP_SECONDS)


def _template_failed(message_id: int, problem: TemplateProblem) -> outbox.Move:
    """A step whose template does not render ends failed, the problem as its reason."""
    return outbox.Move(
        message_id, MessageStatus.FAILED, {"reason": f"template error: {problem}"[:300]}
    )


def _settle(message_id: int, decision: Decision) -> outbox.Move | None:
    """The move a gate refusal settles on, or None when the message may go."""
    if decision.action is Action.SKIP:
        return outbox.Move(message_id, MessageStatus.SKIPPED, {"reason": decision.reason})
    if decision.action is Action.HOLD:
        values: dict[str, object] = {"reason": decision.reason}
        if decision.hold_until is not None:
            values["due_at"] = decision.hold_until
        return outbox.Move(message_id, MessageStatus.HELD, values)
    return None


class Delivery:
    """Delivers outbox rows through the configured channels, a batch at a time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
        email: EmailChannel,
        sms: SmsChannel,
        counters: CounterStore | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.factory, self.clock, self.settings = factory, clock, settings
        self.email, self.sms = email, sms
        self.counters = counters or MemoryCounters()
        self.pacer = pacer or MemoryPacer()
        self.policy = SendingPolicy.from_settings(settings)
        self.handoffs: HandOffs[Outcome] = HandOffs(settings.handoff_concurrency)
        # How far ahead (real seconds) a batch may book its senders' moments. Messages past
        # it wait in the outbox, and the dispatcher releases them at its next pass: so the
        # window spans a whole pass, or a limited sender would idle between two of them.
        self.pacing_window = settings.dispatch_interval_seconds + 1.0
        self._definitions: dict[int, CampaignDefinition] = {}

    def deliver_batch(self, message_ids: Sequence[int]) -> list[Retry]:
        """Deliver the batch; returns the messages to try again after a short countdown."""
        now = self.clock.now()
        with self.factory.begin() as session:
            claimed = outbox.claim(session, message_ids, now)
            if not claimed:
                return []
            prepared, moves = self._prepare(session, load_batch(session, claimed), now)
            prepared, waiting = self._pace(prepared, now)
            outbox.apply(session, moves + waiting, now)
        # Committed: from here on a crash leaves these "sending", never sent twice.
        outcomes = self.handoffs.run(prepared, self._hand_off)
        with self.factory.begin() as session:
            for outcome in outcomes:
                if outcome.suppression is not None:
                    suppress(session, *outcome.suppression, self.clock.now())
            outbox.apply(session, [outcome.move for outcome in outcomes], self.clock.now())
        record_calls(self.counters, [o.call for o in outcomes if o.call is not None])
        return [outcome.retry for outcome in outcomes if outcome.retry is not None]

    def deliver_one(self, message_id: int) -> Retry | None:
        """Take one queued message through gate, render and hand-off."""
        retries = self.deliver_batch([message_id])
        return retries[0] if retries else None

    def claim(self, session: Session, message_id: int) -> bool:
        """Mark one queued message as being handed off (queued -> sending); False if taken."""
        return bool(outbox.claim(session, [message_id], self.clock.now()))

    def _prepare(
        self, session: Session, batch: list[Loaded], now: datetime
    ) -> tuple[list[Prepared], list[outbox.Move]]:
        """Gate and render every claimed message: the ones to send, and how the rest settle."""
        addresses = {item.message.id: notice_address(item.lead, item.message) for item in batch}
        state = BatchState(session, self.policy, batch, addresses, now)
        # Each lead's messages go out as their location: its sender, name, zone, rate.
        locations = Locations.load(session)
        prepared: list[Prepared] = []
        moves: list[outbox.Move] = []
        links: list[tuple[int, Link]] = []
        histories = self._histories(session, batch)
        notes: dict[int, str] = {}  # why a branch was taken, for the sent message
        for item in batch:
            try:
                settings = locations.settings(self.settings, item.lead.location_id)
                result = self._decide(session, item, state, settings, now, links, histories, notes)
            except Exception as exc:  # a bug must not turn into a message retried forever
                log.exception("could not prepare message %s", item.message.id)
                reason = {"reason": f"internal error: {type(exc).__name__}"}
                result = outbox.Move(item.message.id, MessageStatus.FAILED, reason)
            if isinstance(result, outbox.Move):
                moves.append(result)
                continue
            state.handed_off(item.message)  # it counts towards the cap of the rest
            channel = Channel.EMAIL if isinstance(result, OutboundEmail) else Channel.SMS
            sender = sender_for(locations.settings(self.settings, item.lead.location_id), channel)
            attempt = item.message.attempts + 1
            note = notes.get(item.message.id)
            prepared.append(Prepared(item.message.id, result, attempt, sender, note=note))
        # Written with the claim, so every link exists before its message is handed off.
        record_links(session, links, now)
        return prepared, moves

    def _decide(
        self,
        session: Session,
        item: Loaded,
        state: BatchState,
        settings: Settings,
        now: datetime,
        links: list[tuple[int, Link]],
        histories: dict[int, History],
        notes: dict[int, str],
    ) -> OutboundEmail | OutboundSms | outbox.Move:
        """Gate and render one message as its lead's location (`settings`)."""
        message, lead, enrollment = item.message, item.lead, item.enrollment
        live = state.live(message, notice_address(lead, message))
        if message.kind == MessageKind.TRANSACTIONAL or enrollment is None:
            facts = notice_gate_facts(settings, self.policy, lead, message, live)
            return _settle(message.id, gate(facts, now)) or compose_notice(settings, lead, message)
        definition = self._definition(session, enrollment.campaign_version_id)
        step = definition.spec.step(message.step_key)
        facts = campaign_gate_facts(
            settings,
            self.policy,
            lead,
            enrollment,
            step,
            message,
            live,
            campaign_paused=item.campaign_status == CampaignStatus.PAUSED,
            branch=rules_for(definition.spec, step.key),
            history=histories.get(enrollment.id),
        )
        decision = gate(facts, now)
        settled = _settle(message.id, decision)
        if settled:
            return settled
        if step.task is not None:
            return self._hand_to_desk(session, item, definition, step, settings, now, decision)
        if decision.reason:
            notes[message.id] = decision.reason
        try:
            outbound: OutboundEmail | OutboundSms
            if step.channel is Channel.EMAIL:
                outbound, used = compose_email(
                    settings, lead, definition, step, message.ref, message.variant
                )
            else:
                outbound, used = compose_sms(
                    settings, lead, definition, step, message.ref, message.variant
                )
            # An email's links are short links too: its clicks count like a text's.
            links.extend((message.id, link) for link in used)
            return outbound
        except TemplateProblem as exc:
            return _template_failed(message.id, exc)

    def _hand_to_desk(
        self,
        session: Session,
        item: Loaded,
        definition: CampaignDefinition,
        step: StepSpec,
        settings: Settings,
        now: datetime,
        decision: Decision,
    ) -> outbox.Move:
        """A task step the gate let through: its note goes to the lead's front desk.

        Settled as sent in the claim's own commit, with the inbox item it opened: the
        item and the settled row exist together or not at all (invariant 1 holds, as
        nothing here can be handed off twice)."""
        message, lead = item.message, item.lead
        try:
            note = render_sms(definition, step, message_context(settings, lead, definition))
        except TemplateProblem as exc:
            return _template_failed(message.id, exc)
        opened = open_call_back(
            session, lead_id=lead.id, phone=lead.phone or "", note=note, now=now
        )
        why = f"; {decision.reason}" if decision.reason else ""
        values: dict[str, object] = {
            "sent_at": now,
            "reason": f"call-back task for the front desk (inbox item {opened.id}){why}"[:300],
            "summary": note[:200],
        }
        return outbox.Move(message.id, MessageStatus.SENT, values)

    def _histories(self, session: Session, batch: list[Loaded]) -> dict[int, History]:
        """What the leads did with earlier steps, for the batch's steps that branch."""
        wanted = set()
        for item in batch:
            enrollment = item.enrollment
            if enrollment is None or item.message.kind not in STEP_KINDS:
                continue
            spec = self._definition(session, enrollment.campaign_version_id).spec
            known = any(step.key == item.message.step_key for step in spec.steps)
            if known and rules_for(spec, item.message.step_key) is not None:
                wanted.add(enrollment.id)
        return load_histories(session, wanted)

    def _definition(self, session: Session, version_id: int) -> CampaignDefinition:
        # Versions never change once written, so parsing each once per process is safe.
        if version_id not in self._definitions:
            self._definitions[version_id] = load_version(session, version_id)
        return self._definitions[version_id]

    def _pace(
        self, prepared: list[Prepared], now: datetime
    ) -> tuple[list[Prepared], list[outbox.Move]]:
        """Book each sender's moments for its messages; those beyond the window wait."""
        paced: list[Prepared] = []
        waiting: list[outbox.Move] = []
        senders = {job.sender for job in prepared}
        for sender in senders:
            jobs = [job for job in prepared if job.sender == sender]
            if sender.rate <= 0:
                paced += jobs
                continue
            # Carriers count a text's segments, so a two-segment text takes two moments:
            # it goes at the first, and the next message waits for the one after them.
            units = [rate_units(job.outbound) for job in jobs]
            slots = self.pacer.slots(sender.key, sender.rate, sum(units), self.pacing_window)
            used = went = 0
            for job, size in zip(jobs, units, strict=True):
                if used >= len(slots.moments):
                    break
                paced.append(replace(job, moment=slots.moments[used]))
                used, went = used + size, went + 1
            overrun = max(used - len(slots.moments), 0)
            if overrun:
                # The last text's later segments still take the sender's next moments.
                self.pacer.slots(sender.key, sender.rate, overrun, BEYOND_ANY_WINDOW)
            reason = f"waiting for the sender's rate ({sender.rate:g} a second)"
            ahead = overrun
            for job, size in zip(jobs[went:], units[went:], strict=True):
                # Each waits until just before its own turn would come, one dispatcher
                # pass ahead, so the sender's schedule never runs dry; in campaign time.
                turn_in = slots.next_free + ahead / sender.rate - slots.now
                ahead += size
                early = max(turn_in - self.settings.dispatch_interval_seconds - 0.5, 0.0)
                due = now + timedelta(seconds=early * self.settings.time_scale)
                waiting.append(
                    outbox.Move(
                        job.message_id, MessageStatus.HELD, {"reason": reason, "due_at": due}
                    )
                )
        paced.sort(key=lambda job: (job.moment, job.message_id))
        return paced, waiting

    def _hand_off(self, job: Prepared) -> Outcome:
        """Call the provider once and say what to record; nothing is written here."""
        started = time.perf_counter()
        outcome, said = self._call_provider(job)
        email = isinstance(job.outbound, OutboundEmail)
        provider, channel = (self.email.name, "email") if email else (self.sms.name, "sms")
        call = ProviderCall(provider, channel, said, time.perf_counter() - started)
        # What it says goes with the outcome: one write per message, not two.
        move = replace(outcome.move, values={**outcome.move.values, "summary": _summary(job)})
        return Outcome(move, outcome.suppression, outcome.retry, call)

    def _call_provider(self, job: Prepared) -> tuple[Outcome, str]:
        """The outcome to record, and what the provider said (the metrics' label)."""
        outbound, message_id = job.outbound, job.message_id
        channel = Channel.EMAIL if isinstance(outbound, OutboundEmail) else Channel.SMS
        try:
            if isinstance(outbound, OutboundEmail):
                result = self.email.send(outbound)
            else:
                result = self.sms.send(outbound)
        except RetryableError as exc:
            return self._retry_or_fail(message_id, exc, job.attempt), "retryable"
        except PermanentError as exc:
            suppression = (
                (channel, outbound.to, f"provider error {exc.code}") if exc.suppress else None
            )
            reason: dict[str, object] = {"reason": str(exc)[:300]}
            move = outbox.Move(message_id, MessageStatus.FAILED, reason, handed_off=True)
            return Outcome(move, suppression), "permanent"
        except OutcomeUnknownError as exc:
            # The provider may have accepted it: at most once beats at least once here.
            unknown: dict[str, object] = {"reason": f"outcome unknown: {exc}"[:300]}
            move = outbox.Move(message_id, MessageStatus.UNKNOWN, unknown, handed_off=True)
            return Outcome(move), "unknown"
        except Exception as exc:
            # The provider may or may not have the message: never guess, never resend.
            log.exception("unexpected error handing off message %s", message_id)
            error: dict[str, object] = {"reason": f"hand-off error: {type(exc).__name__}"}
            move = outbox.Move(message_id, MessageStatus.UNKNOWN, error, handed_off=True)
            return Outcome(move), "unknown"
        values: dict[str, object] = {
            "provider_id": result.provider_id[:100] or None,
            "sent_at": self.clock.now(),
            "reason": job.note,  # a branch's reason stays; a hold's is over
        }
        return Outcome(outbox.Move(message_id, MessageStatus.SENT, values, handed_off=True)), "sent"

    def _retry_or_fail(self, message_id: int, exc: RetryableError, attempt: int) -> Outcome:
        if attempt >= self.settings.max_delivery_attempts:
            reason = {"reason": f"gave up after {attempt} attempts: {exc}"[:300]}
            move = outbox.Move(message_id, MessageStatus.FAILED, reason, handed_off=True)
            return Outcome(move)
        countdown = backoff(attempt, exc.retry_after)
        # enqueued_at in the future keeps the lost-task sweeper away until the retry is due.
        scaled = timedelta(seconds=countdown * self.settings.time_scale)
        values = {"reason": f"retrying: {exc}"[:300], "enqueued_at": self.clock.now() + scaled}
        move = outbox.Move(message_id, MessageStatus.QUEUED, values, handed_off=True)
        return Outcome(move, retry=Retry(message_id, countdown))


def _summary(job: Prepared) -> str:
    outbound = job.outbound
    return (outbound.subject if isinstance(outbound, OutboundEmail) else outbound.body)[:200]


def expire_abandoned(factory: sessionmaker[Session], now: datetime, lease: timedelta) -> int:
    """Mark hand-offs whose worker died as unknown; they are never re-sent automatically."""
    with factory.begin() as session:
        expired = outbox.move_matching(
            session,
            [Message.handed_off_at <= now - lease],
            [MessageStatus.SENDING],
            MessageStatus.UNKNOWN,
            now,
            reason="worker stopped during hand-off; not re-sent to avoid a duplicate",
        )
        return len(expired)
