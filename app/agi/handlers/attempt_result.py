from app.agi.handlers.channel import argument, log, parse_int
from app.agi.session import AGISession
from app.services.routing import AsyncRoutingService
from app.services.routing import dialplan_variables as variables


async def handle_attempt_result(session: AGISession, *, routing: AsyncRoutingService) -> None:
    """Dial() returned: end the attempt; free its slot unless answered.

    The dialplan passes ${DIALSTATUS} and ${CC_ATTEMPT}; an older dialplan that does not is
    asked for them.
    """
    dial_status = argument(session, 0) or await session.get_variable("DIALSTATUS")
    attempt = parse_int(argument(session, 1) or await session.get_variable(variables.ATTEMPT))
    if attempt is None:
        log.warning("attempt_result uniqueid=%s without CC_ATTEMPT; nothing to end",
                    session.uniqueid, extra={"uniqueid": session.uniqueid})
        return
    await routing.attempt_result(session.uniqueid, attempt, dial_status or "UNKNOWN")
    log.info("attempt_result uniqueid=%s attempt=%s status=%s", session.uniqueid, attempt,
             dial_status, extra={"uniqueid": session.uniqueid})
