import marshmallow as ma
import phonenumbers
from marshmallow import validate

from app.database.models.client import ACTIVE_STATUSES
from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)

number_field = dict(
    validate=validate.Length(min=1, max=40),
    metadata={"description": "E.164 (`+14155550100`) or national (`(415) 555-0100`, read in "
                             "`region`); stored and returned in E.164.",
              "example": "+14155550100"},
)
region_field = dict(
    validate=validate.OneOf(REGIONS, error="Use a two-letter region code such as US or GB."),
    load_only=True,
    metadata={"description": "Region a national `number` is read in (ISO 3166 alpha-2); "
                             "defaults to the platform's DEFAULT_REGION.", "example": "US"},
)
description_field = dict(validate=validate.Length(max=500))
status_field = dict(validate=validate.OneOf(ACTIVE_STATUSES))


def _normalize_input(data):
    if not isinstance(data, dict):
        return data
    strip_strings(data, "number", "region")
    if isinstance(data.get("region"), str):
        data["region"] = data["region"].upper()
    return data


class DidSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    number = ma.fields.String(metadata={"description": "E.164", "example": "+14155550100"})
    description = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(ACTIVE_STATUSES)})
    campaign_id = ma.fields.Integer(
        dump_only=True, allow_none=True,
        metadata={"description": "The campaign routing this DID (read-only: attach and detach "
                                 "through /api/seller/campaigns/{campaign_id}/dids)."})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class AdminDidSchema(DidSchema):
    seller_id = ma.fields.Integer(dump_only=True)


class DidCreateSchema(InputSchema):
    number = ma.fields.String(required=True, **number_field)
    region = ma.fields.String(**region_field)
    description = ma.fields.String(load_default="", **description_field)
    status = ma.fields.String(load_default="active", **status_field)

    @ma.pre_load
    def normalize(self, data, **kwargs):
        return _normalize_input(data)


class DidUpdateSchema(InputSchema):
    number = ma.fields.String(**number_field)
    region = ma.fields.String(**region_field)
    description = ma.fields.String(**description_field)
    status = ma.fields.String(**status_field)

    @ma.pre_load
    def normalize(self, data, **kwargs):
        return _normalize_input(data)

    @ma.validates_schema
    def region_goes_with_number(self, data, **kwargs):
        if "region" in data and "number" not in data:
            raise ma.ValidationError("Only used to read a new number.", "region")


class DidQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(**status_field)
    campaign_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    q = ma.fields.String(validate=validate.Length(max=200),
                         metadata={"description": "Part of the number or the description"})


class AdminDidQuerySchema(DidQuerySchema):
    seller_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class CampaignDidAttachSchema(InputSchema):
    did_id = ma.fields.Integer(required=True, strict=True,
                               validate=validate.Range(min=1, max=2**31 - 1),
                               metadata={"description": "One of your DIDs, not in a campaign"})
