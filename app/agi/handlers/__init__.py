"""One handler per FastAGI script of the dialplan contract (DESIGN.md), given explicitly to
the server by `build_handlers`."""
from functools import partial

from app.agi.handlers.answered import handle_answered
from app.agi.handlers.attempt_result import handle_attempt_result
from app.agi.handlers.hangup import handle_hangup
from app.agi.handlers.route import handle_route
from app.services.routing import AsyncRoutingService


def build_handlers(routing: AsyncRoutingService) -> dict:
    return {
        "route": partial(handle_route, routing=routing),
        "attempt_result": partial(handle_attempt_result, routing=routing),
        "answered": partial(handle_answered, routing=routing),
        "hangup": partial(handle_hangup, routing=routing),
    }
