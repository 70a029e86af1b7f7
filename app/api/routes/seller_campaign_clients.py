from flask.views import MethodView
from flask_login import current_user

from app.access import seller_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.routing_setting_schemas import (RoutingSettingCreateSchema,
                                                 RoutingSettingQuerySchema,
                                                 RoutingSettingSchema,
                                                 RoutingSettingUpdateSchema)
from app.services import routing_setting_service

blp = Blueprint("seller_campaign_clients", __name__,
                url_prefix="/api/seller/campaigns/<id:campaign_id>/clients",
                description="How a campaign forwards to clients: priority, weight and caps "
                            "(sellers only)")

NO_SETTING = "No such campaign of yours, or no such routing setting in it."


@blp.route("")
class CampaignClients(MethodView):
    decorators = [seller_required]

    @blp.arguments(RoutingSettingQuerySchema, location="query")
    @blp.response(200, list_schema(RoutingSettingSchema))
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    def get(self, args, campaign_id):
        """List the campaign's routing settings in failover order (priority, then id)."""
        return routing_setting_service.list_settings(
            campaign_id, seller_id=current_user.id, **args).as_dict()

    @blp.arguments(RoutingSettingCreateSchema)
    @blp.response(201, RoutingSettingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign of yours.")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The campaign already links this client.")
    def post(self, data, campaign_id):
        """Link the campaign to a client.

        The client must exist and be active, or the answer is 422 on `client_id`.
        """
        return routing_setting_service.create_setting(campaign_id, data,
                                                      seller_id=current_user.id)


@blp.route("/<id:setting_id>")
class CampaignClientById(MethodView):
    decorators = [seller_required]

    @blp.response(200, RoutingSettingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_SETTING)
    def get(self, campaign_id, setting_id):
        """One routing setting, with its live `current_total_calls` and `in_flight`."""
        return routing_setting_service.get_setting(campaign_id, setting_id,
                                                   seller_id=current_user.id)

    @blp.arguments(RoutingSettingUpdateSchema)
    @blp.response(200, RoutingSettingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_SETTING)
    def patch(self, data, campaign_id, setting_id):
        """Change priority, weight, caps or status.

        `total_calls_allowed` below `current_total_calls` answers 422. The client cannot
        change: link the new client and delete this setting.
        """
        return routing_setting_service.update_setting(campaign_id, setting_id, data,
                                                      seller_id=current_user.id)

    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_SETTING)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="Calls are in flight on this link (code `calls_in_flight`).")
    def delete(self, campaign_id, setting_id):
        """Unlink the client; refused while calls are in flight on the link."""
        routing_setting_service.delete_setting(campaign_id, setting_id,
                                               seller_id=current_user.id)
