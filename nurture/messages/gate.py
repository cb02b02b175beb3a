"""The one place that decides, at send time, whether a message may go out now.

Every "no" carries a reason that is stored on the message, so a skipped step always
says why (invariant 2), and consent or suppression changed after scheduling still
wins (invariant 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from nurture.campaigns.conditions import BranchRules, History, decide
from nurture.channel import Channel
from nurture.hours import SendWindow
from nurture.sequences.models import EnrollmentStatus
from nurture.sequences.schedule import next_allowed

# A paused sequence's messages are looked at again this often until staff resume it.
PAUSED_RECHECK = timedelta(hours=1)
PAUSED_CAMPAIGN = "campaign paused by staff"
# A lead's own sequence pauses while the front desk has an open inbox item for them (a
# reply to answer or a call to make), not because staff chose to pause it.
PAUSED_FOR_DESK = "sequence paused until the front desk closes the lead's inbox item"
CONDITION_CHANNEL = {"sms_consent": Channel.SMS, "email_consent": Channel.EMAIL}


@dataclass(frozen=True, slots=True)
class GateFacts:
    """Everything the gate looks at, loaded fresh for each message."""

    channel: Channel
    address: str | None
    consent: dict[Channel, bool]
    suppression: str | None
    booked: bool
    enrollment_status: str
    enrollment_end_reason: str | None
    condition: str | None
    windows: tuple[SendWindow, ...]
    zone: ZoneInfo
    cap_release: datetime | None = None  # when the frequency cap lets the next one out
    # A notice the person asked for (booking confirmation, reminder, a reply): it
    # ignores the exit goal, the frequency cap and email marketing consent, but never
    # suppression, SMS consent or sending hours.
    transactional: bool = False
    campaign_paused: bool = False
    # A step with branch rules (nurture.campaigns.conditions), and what the lead did.
    branch: BranchRules | None = None
    history: History | None = None


class Action(StrEnum):
    SEND = "send"
    SKIP = "skip"  # settled for good, with the reason
    HOLD = "hold"  # not now: waits until hold_until (None: due as before)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str | None = None
    hold_until: datetime | None = None


SEND = Decision(Action.SEND)


def gate(facts: GateFacts, now: datetime) -> Decision:
    """Send, skip (with a reason) or hold until the next allowed moment."""
    marketing = not facts.transactional
    if marketing and facts.campaign_paused:
        # Neither sent nor skipped: due as before; the dispatcher leaves a paused
        # campaign's held messages alone and releases them when it is active again.
        return Decision(Action.HOLD, PAUSED_CAMPAIGN)
    if marketing and facts.booked:
        return Decision(Action.SKIP, "exit goal reached: a screening is booked")
    if marketing and facts.enrollment_status == EnrollmentStatus.EXITED:
        return Decision(
            Action.SKIP, f"left the campaign: {facts.enrollment_end_reason or 'exited'}"
        )
    if marketing and facts.enrollment_status == EnrollmentStatus.PAUSED:
        return Decision(Action.HOLD, PAUSED_FOR_DESK, now + PAUSED_RECHECK)
    channel = facts.channel.value
    if not facts.address:
        return Decision(Action.SKIP, f"no {channel} address on file")
    if facts.suppression:
        return Decision(Action.SKIP, f"{channel} address suppressed: {facts.suppression}")
    needs_consent = marketing or facts.channel is Channel.SMS
    if needs_consent and not facts.consent.get(facts.channel, False):
        return Decision(Action.SKIP, f"no {channel} consent")
    if facts.condition and not facts.consent.get(CONDITION_CHANNEL[facts.condition], False):
        return Decision(Action.SKIP, f"condition not met: {facts.condition}")
    taken: str | None = None  # why the branch goes: kept on the message once it is sent
    if marketing and facts.branch is not None and facts.history is not None:
        verdict = decide(facts.branch, facts.history, now, facts.zone)
        if not verdict.taken:
            return Decision(Action.SKIP, verdict.reason)
        taken = verdict.reason
    if marketing and facts.cap_release is not None and facts.cap_release > now:
        allowed = next_allowed(facts.cap_release, facts.zone, facts.windows)
        return Decision(Action.HOLD, f"frequency cap reached for {channel}", allowed)
    allowed = next_allowed(now, facts.zone, facts.windows)
    if allowed > now:
        windows = ", ".join(w.label() for w in facts.windows)
        return Decision(
            Action.HOLD, f"outside sending hours ({windows}, {facts.zone.key})", allowed
        )
    return Decision(Action.SEND, taken) if taken else SEND
