"""All models, imported here so Alembic and the app see the full metadata."""
from app.database.models.bidding import BidBudget, BidCache
from app.database.models.call_log import CallAttempt, CallAttemptDay, CallLog, CallLogDay, CallLogKey
from app.database.models.campaign import Campaign, CampaignClientSetting, CampaignDid
from app.database.models.carrier import Carrier
from app.database.models.cdr import Cdr
from app.database.models.client import Client
from app.database.models.did import Did
from app.database.models.integrations import (ApiKey, CapThresholdMark, ClientPostback, Event,
                                              WebhookAttempt, WebhookDelivery,
                                              WebhookSubscription)
from app.database.models.pjsip import (PsAor, PsAuth, PsContact, PsDomainAlias, PsEndpoint,
                                       PsEndpointIdIp)
from app.database.models.reservation import Reservation
from app.database.models.security import AuditEvent, LoginThrottle
from app.database.models.user import User

__all__ = [
    "AuditEvent", "BidBudget", "BidCache", "CallAttempt", "CallAttemptDay", "CallLog", "CallLogDay",
    "CallLogKey", "Campaign",
    "CampaignClientSetting", "CampaignDid", "Carrier", "Cdr", "LoginThrottle",
    "Client", "Did", "PsAor", "PsAuth", "PsContact", "PsDomainAlias", "PsEndpoint", "PsEndpointIdIp",
    "Reservation", "User", "ApiKey", "CapThresholdMark", "ClientPostback", "Event",
    "WebhookAttempt", "WebhookDelivery", "WebhookSubscription",
]
