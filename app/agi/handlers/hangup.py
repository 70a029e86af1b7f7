from app.agi.handlers.channel import log, parse_int
from app.agi.session import AGISession
from app.services.routing import CallEnd, RoutingService

# One round trip for everything the h extension knows; none of these values contain '|'.
CALL_END_EXPRESSION = "${DIALSTATUS}|${CC_ATTEMPT}|${HANGUPCAUSE}|${CDR(billsec)}|${CHANNEL(linkedid)}"


async def handle_hangup(session: AGISession, *, routing: RoutingService) -> None:
    """The call ended (h extension): count it if answered, release its slots, log it."""
    values = (await session.get_full_variable(CALL_END_EXPRESSION) or "").split("|")
    values += [""] * (5 - len(values))
    dial_status, attempt, cause, billsec, linkedid = values[:5]
    end = CallEnd(uniqueid=session.uniqueid, dial_status=dial_status or None,
                  attempt=parse_int(attempt), hangup_cause=parse_int(cause),
                  billsec=parse_int(billsec), did=session.dnid, caller_id=session.callerid,
                  linkedid=linkedid or None)
    status = await session.run_blocking(routing.hangup, end)
    log.info("hangup uniqueid=%s dialstatus=%s cause=%s -> %s", session.uniqueid, dial_status,
             cause, status or "already ended")
