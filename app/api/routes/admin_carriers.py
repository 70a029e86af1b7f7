from flask.views import MethodView

from app.access import admin_required, staff_required
from app.api.schemas.lists import list_schema
from app.api.smorest import Blueprint
from app.schemas.carrier_schemas import (CarrierCreateSchema, CarrierQuerySchema,
                                         CarrierSchema, CarrierUpdateSchema)
from app.services import carrier_service

blp = Blueprint(
    "admin_carriers", __name__, url_prefix="/api/admin/carriers",
    description="Carriers (inbound trunks): PJSIP endpoints carrier-<id> identified by IP, "
                "context cc-inbound. Admins manage them; staff may read them.",
)


@blp.route("")
class Carriers(MethodView):
    @staff_required
    @blp.arguments(CarrierQuerySchema, location="query")
    @blp.response(200, list_schema(CarrierSchema))
    def get(self, args):
        """List carriers; filter by status, search the name."""
        return carrier_service.list_carriers(**args).as_dict()

    @admin_required
    @blp.arguments(CarrierCreateSchema)
    @blp.response(201, CarrierSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data):
        """Create a carrier. 409 `duplicate` for a taken name, `identify_conflict` when an
        address already identifies another endpoint."""
        return carrier_service.create_carrier(data)


@blp.route("/<id:carrier_id>")
class CarrierById(MethodView):
    @staff_required
    @blp.response(200, CarrierSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, carrier_id):
        """One carrier."""
        return carrier_service.get_carrier(carrier_id)

    @admin_required
    @blp.arguments(CarrierUpdateSchema)
    @blp.response(200, CarrierSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, carrier_id):
        """Change some fields. `status: inactive` removes its identify rows (Asterisk stops
        accepting its calls) and keeps the carrier; `active` writes them again."""
        return carrier_service.update_carrier(carrier_id, data)

    @admin_required
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, carrier_id):
        """Delete a carrier and its endpoint rows."""
        carrier_service.delete_carrier(carrier_id)
