"""The routing engine as the app's configuration builds it: the one factory the internal API,
the simulator and the CLI use."""
from flask import current_app

from app.extensions import db
from app.services.routing import RoutingService


def routing_service() -> RoutingService:
    """A RoutingService on the app's database, reading national numbers in DEFAULT_REGION."""
    config = current_app.config
    return RoutingService(db.engine, default_region=config["DEFAULT_REGION"],
                          allow_private_bid_targets=bool(config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"]))
