from flask.views import MethodView
from flask_login import current_user

from app.access import seller_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint, ErrorSchema
from app.schemas.did_schemas import DidCreateSchema, DidQuerySchema, DidSchema, DidUpdateSchema
from app.services import did_service

blp = Blueprint("seller_dids", __name__, url_prefix="/api/seller/dids",
                description="Your phone numbers (DIDs), stored in E.164 (sellers only)")


@blp.route("")
class Dids(MethodView):
    decorators = [seller_required]

    @blp.arguments(DidQuerySchema, location="query")
    @blp.response(200, list_schema(DidSchema))
    def get(self, args):
        """List your DIDs; filter by status, campaign and a search on number or description."""
        return did_service.list_dids(seller_id=current_user.id, **args).as_dict()

    @blp.arguments(DidCreateSchema)
    @blp.response(201, DidSchema)
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The number is already on the platform (yours or not).")
    def post(self, data):
        """Add a DID.

        `number` may be E.164 or national; a national number is read in `region` (default:
        the platform's DEFAULT_REGION). An invalid number answers 422 on `number`.
        """
        return did_service.create_did(data, seller_id=current_user.id)


@blp.route("/<id:did_id>")
class DidById(MethodView):
    decorators = [seller_required]

    @blp.response(200, DidSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such DID of yours.")
    def get(self, did_id):
        """One of your DIDs."""
        return did_service.get_did(did_id, seller_id=current_user.id)

    @blp.arguments(DidUpdateSchema)
    @blp.response(200, DidSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such DID of yours.")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="The new number is already on the platform.")
    def patch(self, data, did_id):
        """Change some fields of a DID (a new `number` is read like on creation)."""
        return did_service.update_did(did_id, data, seller_id=current_user.id)

    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="No such DID of yours.")
    def delete(self, did_id):
        """Delete a DID, detaching it from its campaign first.

        A DID in a campaign is detached and deleted in one step (never a 409): its calls stay
        in the call logs, which keep the number as text.
        """
        did_service.delete_did(did_id, seller_id=current_user.id)
