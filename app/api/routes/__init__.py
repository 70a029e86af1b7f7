"""Every API blueprint, registered explicitly (no registration by import side effect)."""
from app.api.routes.admin_audit import blp as admin_audit_blp
from app.api.routes.admin_carriers import blp as admin_carriers_blp
from app.api.routes.admin_clients import blp as admin_clients_blp
from app.api.routes.admin_seller_resources import campaigns_blp as admin_campaigns_blp
from app.api.routes.admin_seller_resources import dids_blp as admin_dids_blp
from app.api.routes.admin_users import blp as admin_users_blp
from app.api.routes.api_keys import blp as api_keys_blp
from app.api.routes.auth import blp as auth_blp
from app.api.routes.call_logs import admin_blp as admin_call_logs_blp
from app.api.routes.call_logs import seller_blp as seller_call_logs_blp
from app.api.routes.internal import blp as internal_blp
from app.api.routes.postbacks import admin_blp as admin_client_postback_blp
from app.api.routes.postbacks import public_blp as buyer_postbacks_blp
from app.api.routes.seller_campaign_clients import blp as seller_campaign_clients_blp
from app.api.routes.seller_campaign_dids import blp as seller_campaign_dids_blp
from app.api.routes.seller_campaigns import blp as seller_campaigns_blp
from app.api.routes.seller_clients import blp as seller_clients_blp
from app.api.routes.seller_dids import blp as seller_dids_blp
from app.api.routes.simulate import admin_blp as admin_simulate_blp
from app.api.routes.simulate import seller_blp as seller_simulate_blp
from app.api.routes.webhooks import admin_blp as admin_webhooks_blp
from app.api.routes.webhooks import postbacks_blp as seller_postbacks_blp
from app.api.routes.webhooks import seller_blp as seller_webhooks_blp

BLUEPRINTS = [
    auth_blp, internal_blp,
    admin_users_blp, admin_clients_blp, admin_carriers_blp, admin_dids_blp, admin_campaigns_blp,
    admin_simulate_blp, admin_call_logs_blp, admin_audit_blp,
    seller_dids_blp, seller_campaigns_blp, seller_campaign_dids_blp, seller_campaign_clients_blp,
    seller_simulate_blp, seller_clients_blp, seller_call_logs_blp,
    admin_webhooks_blp, seller_webhooks_blp, seller_postbacks_blp, api_keys_blp,
    admin_client_postback_blp, buyer_postbacks_blp,
]

def register_api_blueprints(api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
