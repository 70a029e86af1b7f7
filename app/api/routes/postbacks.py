"""Buyers' conversion postbacks: the public endpoint and its per-client settings (admins)."""
from flask.views import MethodView

from app.api.schemas.postback_schemas import (BuyerPostbackResultSchema, BuyerPostbackSchema,
                                              ClientPostbackIssuedSchema, ClientPostbackIssueSchema,
                                              ClientPostbackSchema, ClientPostbackUpdateSchema)
from app.api.smorest import Blueprint, ErrorSchema
from app.services import buyer_postbacks
from app.access import staff_required

public_blp = Blueprint("buyer_postbacks", __name__, url_prefix="/api/postbacks",
                       description="Conversion postbacks from buyers (no login: the secret token "
                                   "in the path is the credential)")


@public_blp.post("/<token>")
@public_blp.arguments(BuyerPostbackSchema)
@public_blp.response(200, BuyerPostbackResultSchema)
@public_blp.alt_response(404, schema=ErrorSchema,
                         description="Unknown token, or no call of this buyer within the window.")
def receive(data, token):
    """Confirm (`converted: true`, optional `revenue`) or reject a call's conversion, by its
    `uniqueid` or `call_id`. Idempotent: the same answer again changes nothing."""
    return buyer_postbacks.receive(token, data)


admin_blp = Blueprint("admin_client_postback", __name__,
                      url_prefix="/api/admin/clients/<id:client_id>/postback",
                      description="A client's conversion postback endpoint (admins and staff)")


@admin_blp.route("")
class ClientPostback(MethodView):
    decorators = [staff_required]

    @admin_blp.response(200, ClientPostbackSchema)
    @admin_blp.alt_response(404, schema=ErrorSchema, description="No such client, or no endpoint.")
    def get(self, client_id):
        """The endpoint's window (`has_token`, never the token)."""
        return buyer_postbacks.get_settings(client_id)

    @admin_blp.arguments(ClientPostbackIssueSchema)
    @admin_blp.response(201, ClientPostbackIssuedSchema)
    @admin_blp.alt_response(404, schema=ErrorSchema, description="No such client.")
    def post(self, data, client_id):
        """Issue the endpoint's token (replacing any earlier one); shown in this answer only."""
        return (buyer_postbacks.issue_token(client_id, data.get("window_hours")),
                {"Cache-Control": "no-store"})

    @admin_blp.arguments(ClientPostbackUpdateSchema)
    @admin_blp.response(200, ClientPostbackSchema)
    @admin_blp.alt_response(404, schema=ErrorSchema, description="No such client, or no endpoint.")
    def patch(self, data, client_id):
        """Change the window."""
        return buyer_postbacks.update_settings(client_id, data)

    @admin_blp.response(204)
    @admin_blp.alt_response(404, schema=ErrorSchema, description="No such client, or no endpoint.")
    def delete(self, client_id):
        """Remove the endpoint: its token stops working."""
        buyer_postbacks.delete_settings(client_id)
