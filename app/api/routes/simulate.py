"""Dry-run routing: the decision a call would get now, without reserving anything."""
from flask_login import current_user

from app.access import seller_required, staff_required
from app.api.smorest import Blueprint
from app.schemas.simulation_schemas import SimulationRequestSchema, SimulationSchema
from app.services import simulation_service

seller_blp = Blueprint("seller_simulate", __name__, url_prefix="/api/seller/campaigns",
                       description="Where would a call to this campaign go?")
admin_blp = Blueprint("admin_simulate", __name__, url_prefix="/api/admin/dids",
                      description="Where would a call to this DID go?")


@seller_blp.post("/<id:campaign_id>/simulate")
@seller_required
@seller_blp.arguments(SimulationRequestSchema)
@seller_blp.response(200, SimulationSchema)
def simulate_campaign(data, campaign_id):
    """Run the live routing rules for one of your campaigns, reserving nothing."""
    return simulation_service.simulate_campaign(campaign_id, seller_id=current_user.id, **data)


@admin_blp.post("/<id:did_id>/simulate")
@staff_required
@admin_blp.arguments(SimulationRequestSchema)
@admin_blp.response(200, SimulationSchema)
def simulate_did(data, did_id):
    """Run the live routing rules for a call to this DID, reserving nothing."""
    return simulation_service.simulate_did(did_id, **data)
