"""Every rule of the send-time gate as one row: the facts that differ from a message that
may go, and the decision. Pure, no database: the whole table runs in milliseconds, and
each row fails alone when its rule breaks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from nurture.campaigns.conditions import BranchRules, History, Jump, StepRecord
from nurture.campaigns.spec import StepIf
from nurture.channel import Channel
from nurture.hours import SMS_LEGAL_HOURS, SendWindow
from nurture.messages.gate import (
    PAUSED_FOR_DESK,
    PAUSED_RECHECK,
    Action,
    Decision,
    GateFacts,
    gate,
)
from nurture.sequences.models import EnrollmentStatus

CHICAGO = ZoneInfo("America/Chicago")
# Tuesday 3 Nov 2026, 11:00 in Chicago: inside every window below.
NOW = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
NINE_PM = datetime(2026, 11, 4, 3, 0, tzinfo=UTC)  # 21:00 Chicago: texts must wait
TOMORROW_8AM = datetime(2026, 11, 4, 14, 0, tzinfo=UTC)  # 08:00 Chicago the next day
AFTERNOON = SendWindow(time(14, 0), time(18, 0))
TODAY_2PM = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)

SMS_OK = GateFacts(
    channel=Channel.SMS,
    address="+13125550100",
    consent={Channel.SMS: True, Channel.EMAIL: True},
    suppression=None,
    booked=False,
    enrollment_status=EnrollmentStatus.ACTIVE,
    enrollment_end_reason=None,
    condition=None,
    windows=(SMS_LEGAL_HOURS,),
    zone=CHICAGO,
)
EMAIL_OK = replace(SMS_OK, channel=Channel.EMAIL, address="ana@example.com", windows=())
NOTICE = replace(SMS_OK, transactional=True, enrollment_status="")
NO_CONSENT = {Channel.SMS: False, Channel.EMAIL: False}

# Branches: the lead enrolled eight days ago; the anatomy email went out on day 4.
ENROLLED = NOW - timedelta(days=8)
ANATOMY_SENT = ENROLLED + timedelta(days=4)
DAY_4 = ANATOMY_SENT + timedelta(hours=1)
ANATOMY = "anatomy-link"


def when(**condition: object) -> BranchRules:
    """The rules of a step whose `if:` is `condition`."""
    return BranchRules(StepIf.model_validate(condition))


def did(record: StepRecord | None = None, replied_at: datetime | None = None) -> History:
    """A history in which the anatomy email became `record` (None: never written)."""
    return History(ENROLLED, {ANATOMY: record} if record else {}, replied_at)


UNOPENED = did(StepRecord(ANATOMY_SENT))
OPENED = did(StepRecord(ANATOMY_SENT, opened_at=DAY_4))
CLICKED = did(StepRecord(ANATOMY_SENT, opened_at=DAY_4, clicked_at=DAY_4))
NOT_OPENED_IN_3D = when(not_opened=ANATOMY, within="3d")
JUMPED = BranchRules(None, (Jump("sms-anatomy-short", "how-pt-finds-cause"),))

# (name, facts, now, decision)
RULES = [
    ("a campaign text inside its hours goes", SMS_OK, NOW, Decision(Action.SEND)),
    ("an email with no window goes at night", EMAIL_OK, NINE_PM, Decision(Action.SEND)),
    (
        "a booked lead gets no more campaign steps",
        replace(SMS_OK, booked=True),
        NOW,
        Decision(Action.SKIP, "exit goal reached: a screening is booked"),
    ),
    (
        "an ended sequence says why it ended",
        replace(SMS_OK, enrollment_status=EnrollmentStatus.EXITED, enrollment_end_reason="x"),
        NOW,
        Decision(Action.SKIP, "left the campaign: x"),
    ),
    (
        "a sequence staff paused is looked at again in an hour",
        replace(SMS_OK, enrollment_status=EnrollmentStatus.PAUSED),
        NOW,
        Decision(Action.HOLD, PAUSED_FOR_DESK, NOW + PAUSED_RECHECK),
    ),
    (
        "a paused campaign holds its message, due as before",
        replace(SMS_OK, campaign_paused=True),
        NOW,
        Decision(Action.HOLD, "campaign paused by staff"),
    ),
    (
        "a paused campaign holds even a booked lead's message until it resumes",
        replace(SMS_OK, campaign_paused=True, booked=True),
        NOW,
        Decision(Action.HOLD, "campaign paused by staff"),
    ),
    (
        "no number on file",
        replace(SMS_OK, address=None),
        NOW,
        Decision(Action.SKIP, "no sms address on file"),
    ),
    (
        "a suppressed address",
        replace(SMS_OK, suppression="carrier: unreachable"),
        NOW,
        Decision(Action.SKIP, "sms address suppressed: carrier: unreachable"),
    ),
    (
        "no text consent",
        replace(SMS_OK, consent=NO_CONSENT),
        NOW,
        Decision(Action.SKIP, "no sms consent"),
    ),
    (
        "no email consent for a campaign email",
        replace(EMAIL_OK, consent=NO_CONSENT),
        NOW,
        Decision(Action.SKIP, "no email consent"),
    ),
    (
        "a step's condition on the other channel's consent",
        replace(EMAIL_OK, condition="sms_consent", consent={Channel.EMAIL: True}),
        NOW,
        Decision(Action.SKIP, "condition not met: sms_consent"),
    ),
    (
        "the frequency cap holds until it lets the next one out",
        replace(SMS_OK, cap_release=NOW + timedelta(hours=2)),
        NOW,
        Decision(Action.HOLD, "frequency cap reached for sms", NOW + timedelta(hours=2)),
    ),
    (
        "a cap released at night waits for the morning",
        replace(SMS_OK, cap_release=NINE_PM),
        NOW,
        Decision(Action.HOLD, "frequency cap reached for sms", TOMORROW_8AM),
    ),
    (
        "a cap already released lets it go",
        replace(SMS_OK, cap_release=NOW - timedelta(minutes=1)),
        NOW,
        Decision(Action.SEND),
    ),
    (
        "a text at 21:00 waits for 08:00",
        SMS_OK,
        NINE_PM,
        Decision(Action.HOLD, "outside sending hours (08:00-21:00, America/Chicago)", TOMORROW_8AM),
    ),
    (
        "a step's own window and the legal hours both apply",
        replace(SMS_OK, windows=(AFTERNOON, SMS_LEGAL_HOURS)),
        NOW,
        Decision(
            Action.HOLD,
            "outside sending hours (14:00-18:00, 08:00-21:00, America/Chicago)",
            TODAY_2PM,
        ),
    ),
    # A notice the person asked for: no exit goal, cap or marketing consent; never
    # suppression, text consent or sending hours.
    (
        "a booking confirmation still goes to a booked lead",
        replace(NOTICE, booked=True, cap_release=NOW + timedelta(hours=2)),
        NOW,
        Decision(Action.SEND),
    ),
    (
        "a notice ignores a paused campaign",
        replace(NOTICE, campaign_paused=True),
        NOW,
        Decision(Action.SEND),
    ),
    (
        "an email notice needs no marketing consent",
        replace(EMAIL_OK, transactional=True, consent=NO_CONSENT),
        NOW,
        Decision(Action.SEND),
    ),
    (
        "a text notice still needs text consent",
        replace(NOTICE, consent=NO_CONSENT),
        NOW,
        Decision(Action.SKIP, "no sms consent"),
    ),
    (
        "a notice to a suppressed number is skipped",
        replace(NOTICE, suppression="STOP"),
        NOW,
        Decision(Action.SKIP, "sms address suppressed: STOP"),
    ),
    (
        "a text notice waits for the sending hours too",
        NOTICE,
        NINE_PM,
        Decision(Action.HOLD, "outside sending hours (08:00-21:00, America/Chicago)", TOMORROW_8AM),
    ),
    (
        "a text for leads who did not open a step goes to one who did not",
        replace(SMS_OK, branch=NOT_OPENED_IN_3D, history=UNOPENED),
        NOW,
        Decision(Action.SEND, "branch taken: anatomy-link not opened within 3d"),
    ),
    (
        "a text for leads who did not open a step is skipped for one who did, saying when",
        replace(SMS_OK, branch=NOT_OPENED_IN_3D, history=OPENED),
        NOW,
        Decision(Action.SKIP, "branch not taken: opened anatomy-link on day 4"),
    ),
    (
        "an open after the window counts as not opened within it",
        replace(
            SMS_OK,
            branch=NOT_OPENED_IN_3D,
            history=did(
                StepRecord(ANATOMY_SENT, opened_at=ANATOMY_SENT + timedelta(days=3, hours=1))
            ),
        ),
        NOW,
        Decision(Action.SEND, "branch taken: anatomy-link not opened within 3d"),
    ),
    (
        "a step for openers goes to a lead who opened",
        replace(EMAIL_OK, branch=when(opened=ANATOMY), history=OPENED),
        NOW,
        Decision(Action.SEND, "branch taken: opened anatomy-link on day 4"),
    ),
    (
        "a step for openers is skipped when the step asked about was never sent",
        replace(EMAIL_OK, branch=when(opened=ANATOMY), history=did()),
        NOW,
        Decision(Action.SKIP, "branch not taken: anatomy-link was not sent"),
    ),
    (
        "a step for clickers goes to a lead who clicked",
        replace(EMAIL_OK, branch=when(clicked=ANATOMY), history=CLICKED),
        NOW,
        Decision(Action.SEND, "branch taken: clicked anatomy-link on day 4"),
    ),
    (
        "a step for clickers is skipped for a lead who only opened",
        replace(EMAIL_OK, branch=when(clicked=ANATOMY), history=OPENED),
        NOW,
        Decision(Action.SKIP, "branch not taken: anatomy-link not clicked"),
    ),
    (
        "a step for leads who did not click is skipped for one who clicked",
        replace(EMAIL_OK, branch=when(not_clicked=ANATOMY), history=CLICKED),
        NOW,
        Decision(Action.SKIP, "branch not taken: clicked anatomy-link on day 4"),
    ),
    (
        "a step for leads who replied goes to one who replied",
        replace(
            EMAIL_OK,
            branch=when(replied=True),
            history=did(replied_at=ENROLLED + timedelta(days=1)),
        ),
        NOW,
        Decision(Action.SEND, "branch taken: replied on day 1"),
    ),
    (
        "a step for leads who replied is skipped for one who did not",
        replace(EMAIL_OK, branch=when(replied=True), history=did()),
        NOW,
        Decision(Action.SKIP, "branch not taken: has not replied"),
    ),
    (
        "a step for leads who clicked and did not book goes to one who has not booked",
        replace(EMAIL_OK, branch=when(clicked=ANATOMY, booked=False), history=CLICKED),
        NOW,
        Decision(Action.SEND, "branch taken: clicked anatomy-link on day 4 and has not booked"),
    ),
    (
        "a booked lead leaves by the exit goal before any branch is asked",
        replace(EMAIL_OK, booked=True, branch=when(not_opened=ANATOMY), history=UNOPENED),
        NOW,
        Decision(Action.SKIP, "exit goal reached: a screening is booked"),
    ),
    (
        "no text consent says so before any branch",
        replace(SMS_OK, consent=NO_CONSENT, branch=NOT_OPENED_IN_3D, history=UNOPENED),
        NOW,
        Decision(Action.SKIP, "no sms consent"),
    ),
    (
        "a branch taken still waits for the sending hours, and is asked again then",
        replace(SMS_OK, branch=NOT_OPENED_IN_3D, history=UNOPENED),
        NINE_PM,
        Decision(Action.HOLD, "outside sending hours (08:00-21:00, America/Chicago)", TOMORROW_8AM),
    ),
    (
        "a step a goto jumped over is skipped for the lead who got the goto's step",
        replace(
            EMAIL_OK,
            branch=JUMPED,
            history=History(ENROLLED, {"sms-anatomy-short": StepRecord(ANATOMY_SENT)}),
        ),
        NOW,
        Decision(
            Action.SKIP, "jumped over: sms-anatomy-short was sent, then goto how-pt-finds-cause"
        ),
    ),
    (
        "a step a goto would jump over goes to a lead who did not get the goto's step",
        replace(EMAIL_OK, branch=JUMPED, history=History(ENROLLED, {})),
        NOW,
        Decision(Action.SEND, "on this path: sms-anatomy-short was not sent"),
    ),
]


@pytest.mark.parametrize(
    ("facts", "now", "decision"),
    [pytest.param(facts, now, decision, id=name) for name, facts, now, decision in RULES],
)
def test_the_gate_decides_each_rule_as_the_table_says(
    facts: GateFacts, now: datetime, decision: Decision
) -> None:
    assert gate(facts, now) == decision
