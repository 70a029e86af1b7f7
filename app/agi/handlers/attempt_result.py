from app.agi.handlers.channel import log, parse_int
from app.agi.session import AGISession
from app.services.routing import RoutingService


async def handle_attempt_result(session: AGISession, *, routing: RoutingService) -> None:
    """Dial() returned (argument 1: DIALSTATUS): end the attempt; free its slot unless answered."""
    args = session.args
    dial_status = args[0] if args and args[0] else await session.get_variable("DIALSTATUS")
    attempt = parse_int(await session.get_variable("CC_ATTEMPT"))
    if attempt is None:
        log.warning("attempt_result uniqueid=%s without CC_ATTEMPT; nothing to end",
                    session.uniqueid)
        return
    await session.run_blocking(routing.attempt_result, session.uniqueid, attempt,
                               dial_status or "UNKNOWN")
    log.info("attempt_result uniqueid=%s attempt=%s status=%s", session.uniqueid, attempt,
             dial_status)
