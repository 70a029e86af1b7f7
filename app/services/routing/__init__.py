"""The routing engine: where each call goes, with caps that hold under concurrency."""
from app.services.routing.outcomes import (HANGUP_CAUSES, CallArrival, CallEnd, RouteDecision)
from app.services.routing.service import RoutingService

__all__ = ["HANGUP_CAUSES", "CallArrival", "CallEnd", "RouteDecision", "RoutingService"]
