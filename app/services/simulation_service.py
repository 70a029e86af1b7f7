"""Dry runs: where would a call go? The routing engine's own planning, reserving nothing."""
from datetime import datetime

from sqlalchemy import select

from app.database.models import CampaignDid
from app.domain.call_status import CallStatus
from app.extensions import db
from app.services import campaign_service, did_service
from app.services.routing import Simulation
from app.services.routing_engine import routing_service


def simulate_campaign(campaign_id: int, *, seller_id: int | None, caller_id: str | None = None,
                      at: datetime | None = None) -> Simulation:
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)  # 404 if foreign
    if campaign.status != "active":
        return Simulation("reject", CallStatus.NO_ROUTE, None, [])
    return routing_service().simulate(campaign.id, caller_id=caller_id, at=at)


def simulate_did(did_id: int, *, caller_id: str | None = None,
                 at: datetime | None = None) -> Simulation:
    did = did_service.get_did(did_id, seller_id=None)
    campaign_id = db.session.scalar(select(CampaignDid.campaign_id)
                                    .where(CampaignDid.did_id == did.id))
    if did.status != "active" or campaign_id is None:
        return Simulation("reject", CallStatus.NO_ROUTE, None, [])
    return simulate_campaign(campaign_id, seller_id=None, caller_id=caller_id, at=at)
