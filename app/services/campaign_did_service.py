"""Which DIDs a campaign routes: attach and detach a seller's own DIDs.

A DID belongs to at most one campaign (the primary key of `campaign_dids` is the DID). Both the
campaign and the DID must be the seller's: anything else is reported absent.
"""
from sqlalchemy import delete, select

from app.database.models import CampaignDid, Did
from app.domain.errors import Conflict, NotFound
from app.extensions import db
from app.services import campaign_service, did_service
from app.services.pagination import Page
from app.services.persistence import committing, one_or_404


def list_campaign_dids(campaign_id: int, *, seller_id: int, page=1, per_page=25) -> Page:
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    return did_service.list_dids(seller_id=seller_id, campaign_id=campaign.id, page=page,
                                 per_page=per_page)


def get_campaign_did(campaign_id: int, did_id: int, *, seller_id: int) -> Did:
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    did = one_or_404(did_service.dids_of(seller_id)
                     .join(CampaignDid, CampaignDid.did_id == Did.id)
                     .where(Did.id == did_id, CampaignDid.campaign_id == campaign.id),
                     _not_in_campaign())
    return did_service.with_campaign_ids([did])[0]


def attach_did(campaign_id: int, did_id: int, *, seller_id: int) -> Did:
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    did = did_service.get_did(did_id, seller_id=seller_id)
    if did.campaign_id is not None:
        raise _already_attached(did.campaign_id)
    with committing({
        "pk_campaign_dids": _already_attached(None),
        "fk_campaign_dids_campaign_id_campaigns": NotFound("No such campaign."),
        "fk_campaign_dids_did_id_dids": NotFound("No such DID."),
    }):
        db.session.add(CampaignDid(did_id=did.id, campaign_id=campaign.id))
    return did_service.with_campaign_ids([did])[0]


def detach_did(campaign_id: int, did_id: int, *, seller_id: int) -> None:
    campaign = campaign_service.get_campaign(campaign_id, seller_id=seller_id)
    with committing():
        removed = db.session.execute(
            delete(CampaignDid)
            .where(CampaignDid.campaign_id == campaign.id, CampaignDid.did_id == did_id,
                   CampaignDid.did_id.in_(select(Did.id).where(Did.seller_id == seller_id)))
            .returning(CampaignDid.did_id)
        ).first()
        if removed is None:
            raise _not_in_campaign()


def _already_attached(campaign_id: int | None) -> Conflict:
    # The other campaign is the seller's own (their DID can only be in their campaigns).
    details: dict = {"did_id": ["This DID is already in a campaign; detach it first."]}
    if campaign_id is not None:
        details["campaign_id"] = campaign_id
    return Conflict("This DID is already in a campaign.", details=details,
                    code="did_in_campaign")


def _not_in_campaign() -> NotFound:
    return NotFound("This campaign has no such DID.")
