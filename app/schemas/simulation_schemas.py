import marshmallow as ma
from marshmallow import validate

from app.domain.verdicts import Verdict, capped




class SimulationRequestSchema(ma.Schema):
    caller_id = ma.fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=80),
                                 metadata={"description": "The caller's number (repeat-caller rules)"})
    at = ma.fields.AwareDateTime(load_default=None, allow_none=True, metadata={
        "description": "When the call would arrive (ISO 8601 with offset); default now. The "
                       "counters are today's."})


class CandidateVerdictSchema(ma.Schema):
    setting_id = ma.fields.Integer()
    client_id = ma.fields.Integer()
    client = ma.fields.String()
    priority = ma.fields.Integer()
    weight = ma.fields.Integer()
    verdict = ma.fields.String(metadata={"description": ", ".join((
        Verdict.WOULD_DIAL, Verdict.STANDBY, capped("<cap>"), Verdict.CLOSED, Verdict.INACTIVE,
        Verdict.ZERO_WEIGHT, Verdict.NO_ENDPOINT, Verdict.NO_BID))})
    sticky = ma.fields.Boolean()
    price = ma.fields.Float(metadata={"description": "Bid or fixed buyer_price (campaigns "
                                                     "with bidding links)"})
    price_source = ma.fields.String(metadata={"enum": ["ping", "cache", "fixed"]})
    latency_ms = ma.fields.Integer(metadata={"description": "How long the buyer took to bid"})
    no_bid = ma.fields.String(metadata={"description": "Why a bidding link has no price: "
                                                       "timeout, http <status>, redirect, "
                                                       "malformed, too large, zero bid, "
                                                       "below min_bid, ping budget…"})


class SimulationSchema(ma.Schema):
    action = ma.fields.String(metadata={"enum": ["dial", "reject"]})
    reason = ma.fields.String(allow_none=True)
    dial = ma.fields.String(allow_none=True)
    candidates = ma.fields.List(ma.fields.Nested(CandidateVerdictSchema))
