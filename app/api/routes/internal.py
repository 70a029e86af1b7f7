"""The Asterisk-side API: the same routing engine as FastAGI, over HTTP with a Bearer token."""
from datetime import datetime, timedelta, timezone

from app.access import internal_token_required
from app.api.schemas.internal_schemas import (AnsweredSchema, AttemptResultSchema,
                                              CallArrivalSchema, CallEndResultSchema,
                                              CallEndSchema, LogCallSchema,
                                              ReconcileCdrResultSchema, ReconcileCdrSchema,
                                              ReconcileResultSchema, ReconcileSchema,
                                              RouteDecisionSchema)
from app.api.smorest import Blueprint
from app.services.routing import CallArrival, CallEnd
from app.services.routing_engine import routing_service

blp = Blueprint("internal", __name__, url_prefix="/api/internal",
                description="For Asterisk and its scripts: Bearer INTERNAL_API_TOKEN")

CALL_END_FIELDS = ("uniqueid", "dial_status", "attempt", "hangup_cause", "billsec", "did",
                   "caller_id", "linkedid")


@blp.post("/route")
@internal_token_required
@blp.arguments(CallArrivalSchema)
@blp.response(200, RouteDecisionSchema)
def route(data):
    """Decide where the call goes next (opens the call on first sight)."""
    decision = routing_service().route(CallArrival(**data))
    return {"action": decision.action, "dial": decision.dial, "timeout": decision.timeout,
            "attempt": decision.attempt, "reason": decision.reason,
            "hangup_cause": decision.hangup_cause, "variables": decision.channel_variables()}


@blp.post("/attempt_result")
@internal_token_required
@blp.arguments(AttemptResultSchema)
@blp.response(204)
def attempt_result(data):
    """A Dial() ended; anything but ANSWER frees the attempt's slot."""
    routing_service().attempt_result(data["uniqueid"], data["attempt"], data["dial_status"])


@blp.post("/answered")
@internal_token_required
@blp.arguments(AnsweredSchema)
@blp.response(204)
def answered(data):
    """The client answered: hold the slot until hangup."""
    routing_service().answered(data["uniqueid"], data["attempt"])


@blp.post("/hangup")
@internal_token_required
@blp.arguments(CallEndSchema)
@blp.response(200, CallEndResultSchema)
def hangup(data):
    """The call ended: count it if answered, release its slots, finish its log."""
    return {"status": routing_service().hangup(CallEnd(**data))}


@blp.post("/log_call")
@internal_token_required
@blp.arguments(LogCallSchema)
@blp.response(200, CallEndResultSchema)
def log_call(data):
    """A finished call posted by asterisk/agi-bin/cdr_logger.agi (same effect as hangup)."""
    return {"status": routing_service().hangup(CallEnd(**{k: data[k] for k in CALL_END_FIELDS}))}


@blp.post("/reconcile")
@internal_token_required
@blp.arguments(ReconcileSchema)
@blp.response(200, ReconcileResultSchema)
def reconcile(data):
    """Free expired dialling slots of calls Asterisk no longer has, and end calls older than
    the grace that Asterisk lost."""
    service = routing_service()
    expired = service.expire(data["live_uniqueids"])
    return {"ended": service.reconcile(data["live_uniqueids"], data["grace_seconds"]),
            "expired": expired}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@blp.post("/reconcile_cdr")
@internal_token_required
@blp.arguments(ReconcileCdrSchema)
@blp.response(200, ReconcileCdrResultSchema)
def reconcile_cdr(data):
    """Complete or correct call logs from Asterisk's CDRs (the calls whose CDRs ended in
    [since, until)); every change is also in the audit trail. Running it again changes
    nothing."""
    since = _aware(data["since"]) or datetime.now(timezone.utc) - timedelta(hours=24)
    return {"changed": routing_service().reconcile_cdr(since, _aware(data["until"]))}
