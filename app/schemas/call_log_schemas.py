import marshmallow as ma
from marshmallow import validate

from app.domain.call_status import CALL_STATUSES
from app.domain.verdicts import Verdict, capped, failed
from app.schemas.common import InputSchema, row_id
from app.schemas.routing_rule_fields import Money

MAX_LIMIT = 200


class CallAttemptSchema(ma.Schema):
    attempt_no = ma.fields.Integer()
    client_id = ma.fields.Integer(allow_none=True)
    setting_id = ma.fields.Integer(allow_none=True)
    started_at = ma.fields.DateTime()
    ended_at = ma.fields.DateTime(allow_none=True)
    dial_status = ma.fields.String(allow_none=True)
    duration = ma.fields.Integer(allow_none=True)


class CallLogSchema(ma.Schema):
    id = ma.fields.Integer()
    uniqueid = ma.fields.String()
    linkedid = ma.fields.String(allow_none=True)
    did = ma.fields.String(allow_none=True)
    caller_id = ma.fields.String(allow_none=True, metadata={
        "description": "The caller as the carrier sent it"})
    caller_number = ma.fields.String(allow_none=True, metadata={
        "description": "The caller as E.164 (what rules and the caller filter compare); null "
                       "for an anonymous, withheld or unknown caller, or one that is no valid "
                       "number"})
    seller_id = ma.fields.Integer(allow_none=True)
    campaign_id = ma.fields.Integer(allow_none=True)
    client_id = ma.fields.Integer(allow_none=True)
    started_at = ma.fields.DateTime()
    answered_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)
    duration = ma.fields.Integer(allow_none=True)
    billsec = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(CALL_STATUSES)})
    hangup_cause = ma.fields.Integer(allow_none=True)
    converted = ma.fields.Boolean(metadata={"description": "Answered and billable"})
    payout = Money(metadata={"description": "Owed to the seller (converted calls)"})
    revenue = Money(metadata={"description": "Owed by the buyer (converted calls)"})
    decision = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "Each routing round: the candidates in order with their verdicts ("
                       + ", ".join((Verdict.DIALLED, failed("<status>"), capped("<cap>"),
                                    Verdict.CLOSED, Verdict.INACTIVE, Verdict.ZERO_WEIGHT,
                                    Verdict.NO_ENDPOINT, Verdict.STANDBY))
                       + ") and the round's outcome"})
    attempts = ma.fields.List(ma.fields.Nested(CallAttemptSchema))


# What a call and an attempt are made of in the API's pages, which PostgreSQL writes
# (call_log_service.list_calls_json): the schemas' fields, each the column of its name.
PAGE_CALL_FIELDS = tuple(name for name in CallLogSchema._declared_fields if name != "attempts")
PAGE_ATTEMPT_FIELDS = tuple(CallAttemptSchema._declared_fields)


class CallLogFilterSchema(InputSchema):
    started_from = ma.fields.AwareDateTime(data_key="from", load_default=None,
                                           metadata={"description": "ISO 8601 with offset"})
    started_to = ma.fields.AwareDateTime(data_key="to", load_default=None)
    campaign_id = row_id()
    client_id = row_id()
    did = ma.fields.String(validate=validate.Length(min=1, max=32))
    status = ma.fields.String(validate=validate.OneOf(CALL_STATUSES))
    caller = ma.fields.String(validate=validate.Length(min=1, max=80),
                              metadata={"description": "Caller number, exactly: as received, "
                                                       "or national digits read as E.164"})

    @ma.validates_schema
    def range_is_ordered(self, data, **kwargs):
        if data.get("started_from") and data.get("started_to") and \
                data["started_from"] > data["started_to"]:
            raise ma.ValidationError("'from' must not be after 'to'.", "from")


class AdminCallLogFilterSchema(CallLogFilterSchema):
    seller_id = row_id()


class CallLogQuerySchema(CallLogFilterSchema):
    cursor = ma.fields.String(validate=validate.Length(max=200),
                              metadata={"description": "next_cursor of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))


class AdminCallLogQuerySchema(CallLogQuerySchema, AdminCallLogFilterSchema):
    pass


class CallLogPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CallLogSchema))
    limit = ma.fields.Integer()
    next_cursor = ma.fields.String(allow_none=True, metadata={
        "description": "Pass as `cursor` for the next (older) page; null on the last page"})


class BreakdownSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(allow_none=True)
    total = ma.fields.Integer()
    answered = ma.fields.Integer()
    answer_rate = ma.fields.Float()
    average_billsec = ma.fields.Float()


class CallSummarySchema(ma.Schema):
    total = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    answer_rate = ma.fields.Float(metadata={"description": "answered / ended calls, 0..1"})
    average_billsec = ma.fields.Float(metadata={"description": "over answered calls"})
    converted = ma.fields.Integer(metadata={"description": "Billable (converted) calls"})
    payout = ma.fields.Float(metadata={"description": "Total owed to sellers"})
    revenue = ma.fields.Float(metadata={"description": "Total owed by buyers"})
    campaigns = ma.fields.List(ma.fields.Nested(BreakdownSchema))
    clients = ma.fields.List(ma.fields.Nested(BreakdownSchema))
