"""Payloads of the Asterisk-side API (/api/internal/*)."""
import marshmallow as ma
from marshmallow import validate

from app.schemas.common import InputSchema

uniqueid_field = dict(required=True, validate=validate.Length(min=1, max=150))


class CallArrivalSchema(InputSchema):
    uniqueid = ma.fields.String(**uniqueid_field)
    did = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    caller_id = ma.fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=80))
    linkedid = ma.fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=150))


class RouteDecisionSchema(ma.Schema):
    action = ma.fields.String(metadata={"enum": ["dial", "reject"]})
    dial = ma.fields.String(allow_none=True, metadata={"example": "PJSIP/acme-cc"})
    timeout = ma.fields.Integer(allow_none=True)
    attempt = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    hangup_cause = ma.fields.Integer(allow_none=True)
    variables = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                               metadata={"description": "The CC_* channel variables to set"})


class AttemptResultSchema(InputSchema):
    uniqueid = ma.fields.String(**uniqueid_field)
    attempt = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    dial_status = ma.fields.String(required=True, validate=validate.Length(min=1, max=16))


class AnsweredSchema(InputSchema):
    uniqueid = ma.fields.String(**uniqueid_field)
    attempt = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class CallEndSchema(InputSchema):
    uniqueid = ma.fields.String(**uniqueid_field)
    dial_status = ma.fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(max=16))
    attempt = ma.fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(min=1, max=1000))
    hangup_cause = ma.fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=0, max=127))
    billsec = ma.fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(min=0, max=10_000_000))
    did = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    caller_id = ma.fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=80))
    linkedid = ma.fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=150))


class LogCallSchema(CallEndSchema):
    """What cdr_logger.agi posts: the call end plus CDR fields it could read (informational)."""

    class Meta:
        unknown = ma.EXCLUDE

    cdr_start = ma.fields.String(load_default=None, allow_none=True)
    cdr_answer = ma.fields.String(load_default=None, allow_none=True)
    cdr_end = ma.fields.String(load_default=None, allow_none=True)
    duration = ma.fields.Integer(load_default=None, allow_none=True)


class CallEndResultSchema(ma.Schema):
    status = ma.fields.String(allow_none=True, metadata={
        "description": "The call's final status, or null when it had already ended"})


class ReconcileSchema(InputSchema):
    live_uniqueids = ma.fields.List(ma.fields.String(validate=validate.Length(max=150)),
                                    required=True, validate=validate.Length(max=100_000))
    grace_seconds = ma.fields.Integer(load_default=60, validate=validate.Range(min=0, max=86400))


class ReconcileResultSchema(ma.Schema):
    ended = ma.fields.List(ma.fields.String())
    expired = ma.fields.Integer()


class ReconcileCdrSchema(InputSchema):
    since = ma.fields.DateTime(load_default=None, allow_none=True, metadata={
        "description": "Reconcile the calls whose CDRs ended since then (default: 24 hours "
                       "ago); a time without a zone is UTC"})
    until = ma.fields.DateTime(load_default=None, allow_none=True, metadata={
        "description": "…and before then (default: now)"})


class ReconciledCallSchema(ma.Schema):
    call_log_id = ma.fields.Integer()
    uniqueid = ma.fields.String()
    outcome = ma.fields.String(metadata={"enum": ["created", "closed", "corrected"]})
    changes = ma.fields.Dict(metadata={
        "description": "What changed, as written to the audit trail: {field: [old, new]}, "
                       "attempts, counters"})


class ReconcileCdrResultSchema(ma.Schema):
    changed = ma.fields.List(ma.fields.Nested(ReconciledCallSchema))
