"""The routing engine: where each call goes, with every cap exact under concurrency."""
from app.services.routing.async_service import AsyncRoutingService
from app.services.routing.outcomes import CallArrival, CallEnd, RouteDecision
from app.services.routing.service import RoutingService
from app.services.routing.steps import Simulation

__all__ = ["AsyncRoutingService", "CallArrival", "CallEnd", "RouteDecision",
           "RoutingService", "Simulation"]
