from flask.views import MethodView
from flask_login import current_user

from app.schemas.api_key_schemas import ApiKeyCreateSchema, ApiKeySchema, ApiKeyWithKeySchema
from app.api.smorest import Blueprint, ErrorSchema
from app.services import api_key_service
from app.access import login_required

blp = Blueprint("api_keys", __name__, url_prefix="/api/auth/keys",
                description="Your personal API keys: `Authorization: Bearer <key>` on every /api "
                            "operation your role allows (a `read` key only reads)")


@blp.route("")
class ApiKeys(MethodView):
    decorators = [login_required]

    @blp.response(200, ApiKeySchema(many=True))
    def get(self):
        """Your keys, with their last use (never the key itself)."""
        return api_key_service.list_keys(current_user.id)

    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyWithKeySchema)
    def post(self, data):
        """Create a key: `name`, `scope` (`read` or `write`), optional `expires_at`. The answer
        carries the `key`, once; only its hash is stored."""
        return api_key_service.create_key(current_user.id, data), {"Cache-Control": "no-store"}


@blp.route("/<id:key_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such key of yours.")
def revoke(key_id):
    """Revoke a key: it stops working at once (it stays listed, with `revoked_at`)."""
    api_key_service.revoke_key(current_user.id, key_id)
