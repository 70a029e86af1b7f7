import marshmallow as ma
from marshmallow import validate

from app.schemas.common import InputSchema, PG_BIGINT_MAX

window_field = dict(validate=validate.Range(min=1, max=2160),
                    metadata={"description": "Hours after a call's end in which the buyer may "
                                             "confirm or reject it"})


class ClientPostbackSchema(ma.Schema):
    client_id = ma.fields.Integer(dump_only=True)
    window_hours = ma.fields.Integer()
    has_token = ma.fields.Function(lambda row: bool(row.token_hash))
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ClientPostbackIssuedSchema(ClientPostbackSchema):
    token = ma.fields.String(attribute="token_once", dump_only=True,
                             metadata={"description": "Shown this once: the buyer POSTs to "
                                                      "/api/postbacks/<token>"})
    path = ma.fields.Function(lambda row: f"/api/postbacks/{row.token_once}")


class ClientPostbackIssueSchema(InputSchema):
    window_hours = ma.fields.Integer(strict=True, **window_field)


class ClientPostbackUpdateSchema(InputSchema):
    window_hours = ma.fields.Integer(strict=True, required=True, **window_field)


class BuyerPostbackSchema(InputSchema):
    uniqueid = ma.fields.String(validate=validate.Length(min=1, max=150),
                                metadata={"description": "The call's Asterisk uniqueid"})
    call_id = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=PG_BIGINT_MAX),
                                metadata={"description": "Or the call's id"})
    converted = ma.fields.Boolean(required=True)
    revenue = ma.fields.Float(allow_none=True, allow_nan=False,
                              validate=validate.Range(min=0, max=9_999_999_999.99),
                              metadata={"description": "What the buyer pays for it (cents "
                                                       "kept, rounded)"})

    @ma.validates_schema
    def one_reference(self, data, **kwargs):
        if not data.get("uniqueid") and not data.get("call_id"):
            raise ma.ValidationError("Give the call's uniqueid or call_id.", "uniqueid")


class BuyerPostbackResultSchema(ma.Schema):
    call_id = ma.fields.Integer()
    uniqueid = ma.fields.String()
    changed = ma.fields.Boolean(metadata={"description": "False when it already said so"})
    converted = ma.fields.Boolean()
    payout = ma.fields.Float(allow_none=True)
    revenue = ma.fields.Float(allow_none=True)
