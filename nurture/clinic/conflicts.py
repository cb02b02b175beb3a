"""Whether new sending hours still leave every campaign step a time to go out.

The dispatcher treats windows that never open together as a bug (NoSendableTime), and
campaigns are only validated against the legal SMS window; so narrower sending hours are
checked here against every step still in use before they are saved.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion
from nurture.campaigns.sync import load_version
from nurture.channel import Channel
from nurture.consent.policy import SendingPolicy
from nurture.hours import SendWindow
from nurture.sequences.models import Enrollment


def _never_open(windows: Iterable[SendWindow]) -> bool:
    windows = tuple(windows)
    return bool(windows) and max(w.start for w in windows) >= min(w.end for w in windows)


def _versions_in_use(session: Session) -> list[tuple[str, int]]:
    """(campaign slug, version id) for current versions and versions with leads mid-way."""
    current = select(Campaign.current_version_id.label("id")).where(
        Campaign.status != CampaignStatus.ARCHIVED, Campaign.current_version_id.is_not(None)
    )
    pending = select(Enrollment.campaign_version_id.label("id")).where(
        Enrollment.next_step_key.is_not(None)
    )
    ids = union(current, pending).subquery()
    rows = session.execute(
        select(Campaign.slug, CampaignVersion.id)
        .join(Campaign, Campaign.id == CampaignVersion.campaign_id)
        .where(CampaignVersion.id.in_(select(ids.c.id)))
        .order_by(Campaign.slug, CampaignVersion.number)
    )
    return [(slug, version_id) for slug, version_id in rows]


def sending_hours_conflicts(session: Session, policy: SendingPolicy) -> list[tuple[Channel, str]]:
    """Each step `policy` would leave with no time to send, as (channel, description)."""
    problems: list[tuple[Channel, str]] = []
    for slug, version_id in _versions_in_use(session):
        for step in load_version(session, version_id).spec.steps:
            windows = policy.windows(step, None)
            where = f"step {step.key} of campaign {slug}"
            if _never_open(windows):
                labels = " and ".join(w.label() for w in windows)
                problems.append((step.channel, f"{where} could never go out ({labels})"))
                continue
            if step.channel is not Channel.SMS:
                continue
            for state, hours in sorted(policy.state_sms_hours.items()):
                if _never_open((*windows, hours)):
                    problems.append(
                        (
                            step.channel,
                            f"{where} could never reach leads in {state} ({hours.label()})",
                        )
                    )
    # Versions of one campaign share most steps: name each problem once.
    return list(dict.fromkeys(problems))
