"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from nurture.analytics.models import ResultsFunnelRollup, ResultsRefresh, ResultsStepRollup
from nurture.booking.models import Booking, BookingSeat, CalendarFeed, ClinicSetting
from nurture.campaigns.models import Campaign, CampaignVersion, StepPromotion
from nurture.clock import ClockAnchor
from nurture.consent.models import ConsentEvent, Suppression
from nurture.db import Base
from nurture.deliverability.models import ProviderEvent, SoftBounce
from nurture.health.models import Heartbeat
from nurture.leads.api_keys import ApiKey
from nurture.leads.importing.jobs import ImportJob, ImportRowProblem
from nurture.leads.models import Lead
from nurture.locations.models import Location
from nurture.messages.models import Message
from nurture.messages.short_links import ShortLink
from nurture.replies.models import InboundMessage, InboxItem, SlotOffer
from nurture.sequences.models import Enrollment
from nurture.staff.models import AuditEntry, StaffUser
from nurture.webhooks_out.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingSeat",
    "CalendarFeed",
    "Campaign",
    "CampaignVersion",
    "ClinicSetting",
    "ClockAnchor",
    "ConsentEvent",
    "Enrollment",
    "Heartbeat",
    "ImportJob",
    "ImportRowProblem",
    "InboundMessage",
    "InboxItem",
    "Lead",
    "Location",
    "Message",
    "ProviderEvent",
    "ResultsFunnelRollup",
    "ResultsRefresh",
    "ResultsStepRollup",
    "ShortLink",
    "SlotOffer",
    "SoftBounce",
    "StaffUser",
    "StepPromotion",
    "Suppression",
    "WebhookDelivery",
    "WebhookEndpoint",
]
