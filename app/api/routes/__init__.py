"""Every API blueprint, registered explicitly (no registration by import side effect)."""
from app.api.routes.admin_users import blp as admin_users_blp
from app.api.routes.auth import blp as auth_blp
from app.api.routes.internal import blp as internal_blp

BLUEPRINTS = [auth_blp, admin_users_blp, internal_blp]


def register_api_blueprints(api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
