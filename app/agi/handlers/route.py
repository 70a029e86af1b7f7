from app.agi.handlers.channel import dialled_number, log
from app.agi.session import AGISession
from app.services.routing import CallArrival, RoutingService


async def handle_route(session: AGISession, *, routing: RoutingService) -> None:
    """Reserve the next candidate and tell the dialplan whom to dial (or why not)."""
    # A previous attempt left CC_ACTION=dial on the channel; clear it before anything can fail,
    # so a session cut short sends the dialplan to the reject branch, never to a stale Dial.
    await session.set_variable("CC_ACTION", "")
    linkedid = await session.get_variable("CHANNEL(linkedid)")
    arrival = CallArrival(uniqueid=session.uniqueid,
                          did=dialled_number(session.extension, session.dnid),
                          caller_id=session.callerid, linkedid=linkedid)
    decision = await session.run_blocking(routing.route, arrival)
    log.info("route uniqueid=%s did=%s -> %s %s", session.uniqueid, arrival.did, decision.action,
             decision.dial or decision.reason)
    for name, value in decision.channel_variables().items():
        await session.set_variable(name, value)
