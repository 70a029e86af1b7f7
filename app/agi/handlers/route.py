from app.agi.handlers.channel import argument, dialled_number, log
from app.agi.session import AGISession
from app.services.routing import AsyncRoutingService, CallArrival


async def handle_route(session: AGISession, *, routing: AsyncRoutingService) -> None:
    """Reserve the next candidate and tell the dialplan whom to dial (or why not).

    The dialplan clears CC_ACTION before each route and passes ${CHANNEL(linkedid)}; the answer
    is one SET VARIABLE. If that command never reaches Asterisk, CC_ACTION stays empty, the
    dialplan rejects the call and its `h` releases the slot (a route that runs after `h` finds
    the call ended and reserves nothing).
    """
    arrival = CallArrival(uniqueid=session.uniqueid,
                          did=dialled_number(session.extension, session.dnid),
                          caller_id=session.callerid, linkedid=argument(session, 0))
    decision = await routing.route(arrival, arrived_at=session.arrived_at)
    log.info("route uniqueid=%s did=%s -> %s %s", session.uniqueid, arrival.did, decision.action,
             decision.dial or decision.reason, extra={"uniqueid": session.uniqueid})
    await session.set_variables(decision.channel_variables())
