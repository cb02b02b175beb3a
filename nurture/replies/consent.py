"""What a STOP or START reply does to consent, and to the messages still waiting to go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.consent.ledger import Evidence, grant, normalise_address
from nurture.consent.models import ConsentAction, Suppression
from nurture.consent.opt_out import OptOut, Skip, latest_actions, opt_out

SMS_STOP_REASON = "sms consent revoked by STOP"
EMAIL_STOP_REASON = "email consent revoked by reply"
# Twilio error 21610: the carrier saw the person's STOP. Their START lifts both.
CARRIER_STOP = "twilio 21610: recipient unsubscribed (replied STOP)"


def stop(
    session: Session, lead_ids: Sequence[int], channel: Channel, source: str, now: datetime
) -> list[int]:
    """What a STOP reply does: revoke `channel` consent for the leads not already opted
    out (even one who never agreed: the keyword is their own word); returns those.

    Their unsent messages on the channel are skipped now. On email only campaign
    messages go: a booking confirmation the person asked for still may.
    """
    if channel is Channel.SMS:
        skip, reason = Skip.ALL, SMS_STOP_REASON
    else:
        skip, reason = Skip.CAMPAIGN, EMAIL_STOP_REASON
    request = OptOut(channel, Evidence(source=source), skip, reason, unless_revoked=True)
    return opt_out(session, lead_ids, request, now)


def restart(
    session: Session,
    lead_ids: Sequence[int],
    channel: Channel,
    *,
    source: str,
    address: str,
    clinic_name: str,
    now: datetime,
) -> list[int]:
    """Grant consent again to leads who had it and opted out; returns the ones subscribed now.

    A lead who never agreed is not opted in by a keyword: they never saw the wording.
    """
    latest = latest_actions(session, lead_ids, channel)
    restarted = [lead_id for lead_id, action in latest.items() if action == ConsentAction.REVOKED]
    for lead_id in restarted:
        grant(session, lead_id, channel, Evidence(source=source), now, clinic_name)
    if restarted and channel is Channel.SMS:
        session.execute(
            delete(Suppression).where(
                Suppression.channel == channel,
                Suppression.address == normalise_address(channel, address),
                Suppression.reason == CARRIER_STOP,
            )
        )
    return [lead_id for lead_id, action in latest.items() if action is not None]
