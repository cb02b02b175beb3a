"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from nurture.booking.models import Booking
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.clock import ClockAnchor
from nurture.consent.models import ConsentEvent, Suppression
from nurture.db import Base
from nurture.deliverability.models import ProviderEvent, SoftBounce
from nurture.leads.models import Lead
from nurture.messages.models import Message
from nurture.sequences.models import Enrollment

__all__ = [
    "Base",
    "Booking",
    "Campaign",
    "CampaignVersion",
    "ClockAnchor",
    "ConsentEvent",
    "Enrollment",
    "Lead",
    "Message",
    "ProviderEvent",
    "SoftBounce",
    "Suppression",
]
