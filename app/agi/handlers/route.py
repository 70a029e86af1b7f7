from app.agi.handlers.channel import dialled_number, log
from app.agi.protocol import AGIError
from app.agi.session import AGISession
from app.services.routing import CallArrival, RoutingService

# The status recorded for an attempt reserved but never handed to Dial().
UNDELIVERED_DIAL_STATUS = "CANCEL"


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
    dial_sent = False
    try:
        for name, value in decision.channel_variables().items():  # CC_ACTION comes last
            dial_sent = name == "CC_ACTION"
            await session.set_variable(name, value)
    except AGIError:
        # The line broke before CC_ACTION=dial was even sent: this Dial will never happen, so
        # free its slot now. Waiting for `h` is not enough: if Asterisk cut the connection
        # while the reservation was being made, `h` may already have run and released
        # nothing, and the slot would stay held until expiry. Once CC_ACTION=dial was sent,
        # Asterisk may have set it (only the reply was lost): the slot stays for the Dial.
        if decision.action == "dial" and not dial_sent:
            try:
                await session.run_blocking(routing.attempt_result, session.uniqueid,
                                           decision.attempt, UNDELIVERED_DIAL_STATUS)
                log.warning("route uniqueid=%s attempt=%s never reached the dialplan; slot released",
                            session.uniqueid, decision.attempt)
            except Exception:  # the database too: `h`, expiry or reconcile will free it
                log.exception("route uniqueid=%s attempt=%s: could not release the undelivered slot",
                              session.uniqueid, decision.attempt)
        raise
