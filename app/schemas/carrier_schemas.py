import marshmallow as ma
from marshmallow import validate

from app.database.models.client import ACTIVE_STATUSES
from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings
from app.schemas.sip_fields import (codecs_field, dtmf_mode_field, identify_ips_field,
                                    plain_text_field, transport_field)
from app.services.pjsip_service import DEFAULT_CODECS, DEFAULT_DTMF_MODE, DEFAULT_TRANSPORT

class CarrierSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String()
    status = ma.fields.String()
    identify_ips = ma.fields.List(ma.fields.String())
    codecs = ma.fields.List(ma.fields.String())
    transport = ma.fields.String(allow_none=True)
    dtmf_mode = ma.fields.String(allow_none=True)
    endpoint_id = ma.fields.String(metadata={
        "description": "The carrier's PJSIP endpoint (carrier-<id>); its context is cc-inbound."})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class _CarrierInput(InputSchema):
    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(dict(data), "name") if isinstance(data, dict) else data


class CarrierCreateSchema(_CarrierInput):
    name = plain_text_field(120, required=True)
    status = ma.fields.String(load_default="active", validate=validate.OneOf(ACTIVE_STATUSES),
                              metadata={"description": "inactive: Asterisk stops accepting its "
                                                       "traffic (identify rows removed)."})
    identify_ips = identify_ips_field(min_length=1, required=True)
    codecs = codecs_field(load_default=lambda: list(DEFAULT_CODECS))
    transport = transport_field(load_default=DEFAULT_TRANSPORT)
    dtmf_mode = dtmf_mode_field(load_default=DEFAULT_DTMF_MODE)


class CarrierUpdateSchema(_CarrierInput):
    name = plain_text_field(120)
    status = ma.fields.String(validate=validate.OneOf(ACTIVE_STATUSES))
    identify_ips = identify_ips_field(min_length=1)
    codecs = codecs_field()
    transport = transport_field()
    dtmf_mode = dtmf_mode_field()


class CarrierQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(ACTIVE_STATUSES))
    q = ma.fields.String(validate=validate.Length(max=200),
                         metadata={"description": "Text in the name."})
