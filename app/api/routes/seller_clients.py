from app.access import seller_required
from app.api.schemas.lists import list_schema
from app.api.schemas.seller_client_schemas import LinkableClientQuerySchema, LinkableClientSchema
from app.api.smorest import Blueprint
from app.services import routing_setting_service

blp = Blueprint("seller_clients", __name__, url_prefix="/api/seller/clients",
                description="The active clients a campaign may forward to (sellers only)")


@blp.get("")
@seller_required
@blp.arguments(LinkableClientQuerySchema, location="query")
@blp.response(200, list_schema(LinkableClientSchema))
def list_clients(args):
    """List the active clients you may link, without any SIP details."""
    return routing_setting_service.list_linkable_clients(**args).as_dict()
