from app.agi.handlers.channel import log, parse_int
from app.agi.session import AGISession
from app.services.routing import AsyncRoutingService, CallEnd
from app.services.routing import dialplan_variables as variables

# What the h extension passes as AGI() arguments, in this order (asterisk/extensions.conf).
CALL_END_ARGUMENTS = ("DIALSTATUS", variables.ATTEMPT, "HANGUPCAUSE", "CDR(billsec)",
                      "CHANNEL(linkedid)", variables.REASON)
# For an older dialplan that passes nothing: one round trip reads them all ('|' is in none).
CALL_END_EXPRESSION = "|".join(f"${{{name}}}" for name in CALL_END_ARGUMENTS)


async def handle_hangup(session: AGISession, *, routing: AsyncRoutingService) -> None:
    """The call ended (h extension): count it if answered, release its slots, log it."""
    values = list(session.args)
    if not values:
        values = (await session.get_full_variable(CALL_END_EXPRESSION) or "").split("|")
    values += [""] * (len(CALL_END_ARGUMENTS) - len(values))
    dial_status, attempt, cause, billsec, linkedid, reason = values[:len(CALL_END_ARGUMENTS)]
    end = CallEnd(uniqueid=session.uniqueid, dial_status=dial_status or None,
                  attempt=parse_int(attempt), hangup_cause=parse_int(cause),
                  billsec=parse_int(billsec), did=session.dnid, caller_id=session.callerid,
                  linkedid=linkedid or None)
    status = await routing.hangup(end, refusal_reason=reason or None)
    log.info("hangup uniqueid=%s dialstatus=%s cause=%s -> %s", session.uniqueid, dial_status,
             cause, status or "already ended", extra={"uniqueid": session.uniqueid})
