from flask.views import MethodView
from flask_login import current_user

from app.access import seller_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.common import PaginationQuerySchema
from app.schemas.did_schemas import CampaignDidAttachSchema, DidSchema
from app.services import campaign_did_service

blp = Blueprint("seller_campaign_dids", __name__,
                url_prefix="/api/seller/campaigns/<id:campaign_id>/dids",
                description="The DIDs a campaign routes; a DID is in at most one campaign "
                            "(sellers only)")


@blp.route("")
class CampaignDids(MethodView):
    decorators = [seller_required]

    @blp.arguments(PaginationQuerySchema, location="query")
    @blp.response(200, list_schema(DidSchema))
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    def get(self, args, campaign_id):
        """List the campaign's DIDs."""
        return campaign_did_service.list_campaign_dids(
            campaign_id, seller_id=current_user.id, **args).as_dict()

    @blp.arguments(CampaignDidAttachSchema)
    @blp.response(201, DidSchema)
    @blp.alt_response(404, schema=ErrorSchema,
                      description="No such campaign or DID of yours.")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The DID is already in a campaign, this one included "
                                  "(code `did_in_campaign`).")
    def post(self, data, campaign_id):
        """Attach one of your DIDs; answers the DID with its new `campaign_id`."""
        return campaign_did_service.attach_did(campaign_id, data["did_id"],
                                               seller_id=current_user.id)


@blp.route("/<id:did_id>")
class CampaignDidById(MethodView):
    decorators = [seller_required]

    @blp.response(200, DidSchema)
    @blp.alt_response(404, schema=ErrorSchema,
                      description="No such campaign of yours, or the DID is not in it.")
    def get(self, campaign_id, did_id):
        """One DID of the campaign."""
        return campaign_did_service.get_campaign_did(campaign_id, did_id,
                                                     seller_id=current_user.id)

    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema,
                      description="No such campaign of yours, or the DID is not in it.")
    def delete(self, campaign_id, did_id):
        """Detach a DID from the campaign (the DID itself stays)."""
        campaign_did_service.detach_did(campaign_id, did_id, seller_id=current_user.id)
