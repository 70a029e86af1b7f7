import marshmallow as ma
from marshmallow import validate

from app.schemas.common import InputSchema, PaginationQuerySchema, strip_strings
from app.database.models.integrations import DELIVERY_STATUSES, EVENT_TYPES

EDITABLE_STATUSES = ("active", "inactive")

url_field = dict(validate=validate.Length(min=1, max=2000),
                 metadata={"description": "Where events are POSTed: https:// in production; "
                                          "targets on private, loopback or link-local "
                                          "addresses are refused when sending.",
                           "example": "https://crm.example.com/hooks/capconduit"})
events_field = dict(
    validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    metadata={"description": "Event types to receive", "example": ["call.ended"]})
event_type = ma.fields.String(validate=validate.OneOf(EVENT_TYPES))
description_field = dict(validate=validate.Length(max=500))
status_field = dict(validate=validate.OneOf(EDITABLE_STATUSES, error="Use active or inactive."),
                    metadata={"description": "`disabled` (read-only) after a day of failures; "
                                             "set `active` again to resume."})


def _strip(_schema, data, **kwargs):
    return strip_strings(data, "url", "description") if isinstance(data, dict) else data


class WebhookSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    status = ma.fields.String(metadata={"enum": ["active", "inactive", "disabled"]})
    description = ma.fields.String()
    has_secret = ma.fields.Boolean(dump_only=True)
    disabled_reason = ma.fields.String(allow_none=True, dump_only=True)
    failing_since = ma.fields.DateTime(allow_none=True, dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = ma.fields.String(attribute="secret_once", dump_only=True,
                              metadata={"description": "The signing secret, shown this once."})


class WebhookCreateSchema(InputSchema):
    url = ma.fields.String(required=True, **url_field)
    events = ma.fields.List(event_type, required=True, **events_field)
    status = ma.fields.String(load_default="active", **status_field)
    description = ma.fields.String(load_default="", **description_field)
    strip = ma.pre_load(_strip)


class WebhookUpdateSchema(InputSchema):
    url = ma.fields.String(**url_field)
    events = ma.fields.List(event_type, **events_field)
    status = ma.fields.String(**status_field)
    description = ma.fields.String(**description_field)
    strip = ma.pre_load(_strip)


class WebhookQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(("active", "inactive", "disabled")))


class AttemptSchema(ma.Schema):
    at = ma.fields.DateTime()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True,
                                         metadata={"description": "The retry this attempt "
                                                                  "scheduled (null: none)"})


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    event_id = ma.fields.Function(lambda d: f"evt_{d.event_id}")
    event_type = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts_made = ma.fields.Integer(attribute="attempts")
    created_at = ma.fields.DateTime()
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    next_attempt_at = ma.fields.Function(
        lambda d: d.next_attempt_at.isoformat() if d.status == "pending" and d.next_attempt_at
        else None, metadata={"description": "Next try (pending deliveries)"})
    sent_at = ma.fields.DateTime(allow_none=True)
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema), attribute="attempt_log")


class DeliveryQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))


class PostbackSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    campaign_id = ma.fields.Integer(dump_only=True)
    url = ma.fields.String(metadata={"description": "GET template fired on call.converted"})
    status = ma.fields.String(metadata={"enum": ["active", "inactive", "disabled"]})
    description = ma.fields.String()
    disabled_reason = ma.fields.String(allow_none=True, dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


template_field = dict(
    validate=validate.Length(min=1, max=2000),
    metadata={"description": "A GET URL with tokens, each replaced URL-encoded: {call_id}, "
                             "{uniqueid}, {caller_id}, {did}, {campaign_id}, {payout}, "
                             "{revenue}, {billsec}",
              "example": "https://track.example.com/pb?click={uniqueid}&payout={payout}"})


class PostbackCreateSchema(InputSchema):
    url = ma.fields.String(required=True, **template_field)
    status = ma.fields.String(load_default="active", **status_field)
    description = ma.fields.String(load_default="", **description_field)
    strip = ma.pre_load(_strip)


class PostbackUpdateSchema(InputSchema):
    url = ma.fields.String(**template_field)
    status = ma.fields.String(**status_field)
    description = ma.fields.String(**description_field)
    strip = ma.pre_load(_strip)

