from flask.views import MethodView
from flask_login import current_user

from app.access import seller_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.campaign_schemas import (CampaignCreateSchema, CampaignQuerySchema,
                                          CampaignSchema, CampaignUpdateSchema)
from app.services import campaign_service

blp = Blueprint("seller_campaigns", __name__, url_prefix="/api/seller/campaigns",
                description="Your campaigns (sellers only)")


@blp.route("")
class Campaigns(MethodView):
    decorators = [seller_required]

    @blp.arguments(CampaignQuerySchema, location="query")
    @blp.response(200, list_schema(CampaignSchema))
    def get(self, args):
        """List your campaigns; filter by status and a search on name or description."""
        return campaign_service.list_campaigns(seller_id=current_user.id, **args).as_dict()

    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="You already have a campaign with this name.")
    def post(self, data):
        """Create a campaign."""
        return campaign_service.create_campaign(data, seller_id=current_user.id)


@blp.route("/<id:campaign_id>")
class CampaignById(MethodView):
    decorators = [seller_required]

    @blp.response(200, CampaignSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    def get(self, campaign_id):
        """One of your campaigns."""
        return campaign_service.get_campaign(campaign_id, seller_id=current_user.id)

    @blp.arguments(CampaignUpdateSchema)
    @blp.response(200, CampaignSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="You already have a campaign with this name.")
    def patch(self, data, campaign_id):
        """Change some fields of a campaign."""
        return campaign_service.update_campaign(campaign_id, data, seller_id=current_user.id)

    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The campaign has calls in flight (code `calls_in_flight`).")
    def delete(self, campaign_id):
        """Delete a campaign with no call in flight.

        Its DIDs are detached (not deleted) and its routing settings deleted; its call logs
        stay, without the campaign. With calls in flight it answers 409: set the status to
        inactive to stop new calls, then delete once they have ended.
        """
        campaign_service.delete_campaign(campaign_id, seller_id=current_user.id)
