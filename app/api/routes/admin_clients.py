from functools import wraps

from flask.views import MethodView

from app.access import staff_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint
from app.schemas.client_schemas import (ClientCreateSchema, ClientDeleteQuerySchema,
                                        ClientQuerySchema, ClientSchema, ClientUpdateSchema,
                                        BidSecretSchema, SipSecretSchema, UpdatedClient)
from app.services import client_service

blp = Blueprint(
    "admin_clients", __name__, url_prefix="/api/admin/clients",
    description="Clients (call centers) and their PJSIP endpoints (admins and staff). Writing a "
                "client writes its ps_endpoints, ps_aors, ps_auths and ps_endpoint_id_ips rows "
                "(id = client_identifier) in the same transaction. SIP passwords are write-only.",
)


def judged_against_stored_client(view):
    """Load the update with `UpdatedClient` set, so the SIP rules (which depend on the stored
    client) are reported with the fields' errors in one 422."""
    @wraps(view)
    def wrapper(*args, client_id, **kwargs):
        with UpdatedClient(client_id):
            return view(*args, client_id=client_id, **kwargs)
    return wrapper


@blp.route("")
class Clients(MethodView):
    decorators = [staff_required]

    @blp.arguments(ClientQuerySchema, location="query")
    @blp.response(200, list_schema(ClientSchema))
    def get(self, args):
        """List clients; filter by status and mode, search identifier, name and department."""
        return client_service.list_clients(**args).as_dict()

    @blp.arguments(ClientCreateSchema)
    @blp.response(201, ClientSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a client with its SIP endpoint.

        409 `duplicate` for a taken client_identifier, `endpoint_exists` when realtime rows
        with that id exist already, `identify_conflict` when an address identifies another
        endpoint.
        """
        return client_service.create_client(data)


@blp.route("/<id:client_id>")
class ClientById(MethodView):
    decorators = [staff_required]

    @blp.response(200, ClientSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, client_id):
        """One client, with its SIP settings and, in register mode, its registrations."""
        return client_service.get_client(client_id)

    @judged_against_stored_client
    @blp.arguments(ClientUpdateSchema)
    @blp.response(200, ClientSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, client_id):
        """Change some fields. `pjsip` merges field by field; a new client_identifier moves the
        endpoint's rows (a registered PBX must then register under the new name)."""
        return client_service.update_client(client_id, data)

    @blp.arguments(ClientDeleteQuerySchema, location="query")
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def delete(self, args, client_id):
        """Delete a client and its endpoint rows.

        409 `client_in_use` while active campaign settings route to it, unless `?unlink=true`
        (which deletes those settings too); 409 `calls_in_flight` while calls to it are up.
        """
        client_service.delete_client(client_id, unlink=args["unlink"])


@blp.route("/<id:client_id>/sip_password")
class ClientSipPassword(MethodView):
    decorators = [staff_required]

    @blp.response(200, SipSecretSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, client_id):
        """Set a new random inbound SIP password (register mode) and show it this once.

        The only answer that carries a SIP secret: the old password stops working at once,
        the new one is never shown again (`Cache-Control: no-store`). 409 `not_register_mode`
        for a static client.
        """
        return client_service.reset_sip_password(client_id), {"Cache-Control": "no-store"}


@blp.route("/<id:client_id>/bid_secret")
class ClientBidSecret(MethodView):
    decorators = [staff_required]

    @blp.response(200, BidSecretSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, client_id):
        """Make a new secret for the client's bid pings and show it this once.

        Bid pings carry `CapConduit-Signature`, computed as for webhooks with this secret; the
        old secret stops signing at once, the new one is never shown again
        (`Cache-Control: no-store`).
        """
        return client_service.rotate_bid_secret(client_id), {"Cache-Control": "no-store"}
