from app.agi.handlers.channel import log, parse_int
from app.agi.session import AGISession
from app.services.routing import AsyncRoutingService


async def handle_answered(session: AGISession, *, routing: AsyncRoutingService) -> None:
    """Runs on the client's channel (Dial option U): arguments are the caller's uniqueid and
    the attempt. From now on the slot is held until hangup."""
    args = session.args
    uniqueid = args[0] if args else ""
    attempt = parse_int(args[1] if len(args) > 1 else None)
    if not uniqueid or attempt is None:
        log.warning("answered without caller uniqueid/attempt (args=%r)", args)
        return
    await routing.answered(uniqueid, attempt)
    log.info("answered uniqueid=%s attempt=%s", uniqueid, attempt, extra={"uniqueid": uniqueid})
