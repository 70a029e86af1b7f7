import marshmallow as ma
from marshmallow import validate

from app.database.models.campaign import DIAL_TIMEOUT_RANGE
from app.database.models.client import ACTIVE_STATUSES
from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings
from app.schemas.routing_rule_fields import CampaignRulesFields

name_field = dict(validate=validate.Length(min=1, max=120),
                  metadata={"description": "Unique among your campaigns, ignoring case"})
description_field = dict(validate=validate.Length(max=1000))
status_field = dict(validate=validate.OneOf(ACTIVE_STATUSES))
dial_timeout_field = dict(
    strict=True, validate=validate.Range(*DIAL_TIMEOUT_RANGE),
    metadata={"description": "Seconds each client may ring before the next is tried"})


class CampaignSchema(CampaignRulesFields):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String()
    description = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(ACTIVE_STATUSES)})
    dial_timeout = ma.fields.Integer()
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class AdminCampaignSchema(CampaignSchema):
    seller_id = ma.fields.Integer(dump_only=True)


class CampaignCreateSchema(CampaignRulesFields, InputSchema):
    name = ma.fields.String(required=True, **name_field)
    description = ma.fields.String(load_default="", **description_field)
    status = ma.fields.String(load_default="active", **status_field)
    dial_timeout = ma.fields.Integer(load_default=30, **dial_timeout_field)

    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(data, "name") if isinstance(data, dict) else data


class CampaignUpdateSchema(CampaignRulesFields, InputSchema):
    name = ma.fields.String(**name_field)
    description = ma.fields.String(**description_field)
    status = ma.fields.String(**status_field)
    dial_timeout = ma.fields.Integer(**dial_timeout_field)

    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(data, "name") if isinstance(data, dict) else data


class CampaignQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(**status_field)
    q = ma.fields.String(validate=validate.Length(max=200),
                         metadata={"description": "Part of the name or the description"})


class AdminCampaignQuerySchema(CampaignQuerySchema):
    seller_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
