"""Admins and staff read every seller's DIDs and campaigns; changes are the sellers' own."""
from flask.views import MethodView

from app.access import staff_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.campaign_schemas import AdminCampaignQuerySchema, AdminCampaignSchema
from app.schemas.did_schemas import AdminDidQuerySchema, AdminDidSchema
from app.services import campaign_service, did_service

dids_blp = Blueprint("admin_dids", __name__, url_prefix="/api/admin/dids",
                     description="Every seller's DIDs, read-only (admins and staff)")
campaigns_blp = Blueprint("admin_campaigns", __name__, url_prefix="/api/admin/campaigns",
                          description="Every seller's campaigns, read-only (admins and staff)")


@dids_blp.route("")
class AdminDids(MethodView):
    decorators = [staff_required]

    @dids_blp.arguments(AdminDidQuerySchema, location="query")
    @dids_blp.response(200, list_schema(AdminDidSchema))
    def get(self, args):
        """List DIDs; filter by seller, status, campaign and a search on number or description."""
        return did_service.list_dids(**{"seller_id": None, **args}).as_dict()


@dids_blp.route("/<id:did_id>")
class AdminDidById(MethodView):
    decorators = [staff_required]

    @dids_blp.response(200, AdminDidSchema)
    @dids_blp.alt_response(404, schema=ErrorSchema, description="No such DID.")
    def get(self, did_id):
        """One DID, with its seller."""
        return did_service.get_did(did_id, seller_id=None)


@campaigns_blp.route("")
class AdminCampaigns(MethodView):
    decorators = [staff_required]

    @campaigns_blp.arguments(AdminCampaignQuerySchema, location="query")
    @campaigns_blp.response(200, list_schema(AdminCampaignSchema))
    def get(self, args):
        """List campaigns; filter by seller, status and a search on name or description."""
        return campaign_service.list_campaigns(**{"seller_id": None, **args}).as_dict()


@campaigns_blp.route("/<id:campaign_id>")
class AdminCampaignById(MethodView):
    decorators = [staff_required]

    @campaigns_blp.response(200, AdminCampaignSchema)
    @campaigns_blp.alt_response(404, schema=ErrorSchema, description="No such campaign.")
    def get(self, campaign_id):
        """One campaign, with its seller."""
        return campaign_service.get_campaign(campaign_id, seller_id=None)
