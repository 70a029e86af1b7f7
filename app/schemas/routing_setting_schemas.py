"""Campaign → client routing settings, and the clients a seller may link."""
import marshmallow as ma
from marshmallow import validate

from app.database.models.client import ACTIVE_STATUSES
from app.schemas.common import InputSchema, PaginationQuerySchema
from app.schemas.routing_rule_fields import SettingRulesFields

MAX_INT = 2**31 - 1  # PostgreSQL integer

status_field = dict(validate=validate.OneOf(ACTIVE_STATUSES))
priority_field = dict(strict=True, validate=validate.Range(min=1, max=MAX_INT),
                      metadata={"description": "1 is tried first"})
weight_field = dict(strict=True, validate=validate.Range(min=0, max=1000),
                    metadata={"description": "Share inside a priority tier; 0 = never"})
concurrency_field = dict(strict=True, validate=validate.Range(min=1, max=MAX_INT),
                         metadata={"description": "Calls this client may take at once"})
total_field = dict(
    strict=True, allow_none=True, validate=validate.Range(min=0, max=MAX_INT),
    metadata={"description": "Calls this client may receive in all; null = unlimited. Never "
                             "below `current_total_calls`."})


class RoutingSettingSchema(SettingRulesFields):
    id = ma.fields.Integer(dump_only=True)
    campaign_id = ma.fields.Integer(dump_only=True)
    client_id = ma.fields.Integer(dump_only=True)
    client_name = ma.fields.String(attribute="client.name", dump_only=True,
                                   metadata={"description": "The client's name (read-only)"})
    client_identifier = ma.fields.String(
        attribute="client.client_identifier", dump_only=True,
        metadata={"description": "The client's identifier, its PJSIP endpoint (read-only)"})
    status = ma.fields.String(metadata={"enum": list(ACTIVE_STATUSES)})
    forwarding_priority = ma.fields.Integer()
    weight = ma.fields.Integer()
    max_concurrency = ma.fields.Integer()
    total_calls_allowed = ma.fields.Integer(allow_none=True)
    current_total_calls = ma.fields.Integer(
        dump_only=True, metadata={"description": "Answered calls delivered so far (read-only)"})
    in_flight = ma.fields.Integer(
        dump_only=True, metadata={"description": "Calls being dialled or up now (read-only)"})
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class RoutingSettingCreateSchema(SettingRulesFields, InputSchema):
    client_id = ma.fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_INT),
        metadata={"description": "An active client (see /api/seller/clients)"})
    status = ma.fields.String(load_default="active", **status_field)
    forwarding_priority = ma.fields.Integer(load_default=1, **priority_field)
    weight = ma.fields.Integer(load_default=100, **weight_field)
    max_concurrency = ma.fields.Integer(load_default=1, **concurrency_field)
    total_calls_allowed = ma.fields.Integer(load_default=None, **total_field)


class RoutingSettingUpdateSchema(SettingRulesFields, InputSchema):
    """Everything but the client: to route to another client, link it and delete this one."""

    status = ma.fields.String(**status_field)
    forwarding_priority = ma.fields.Integer(**priority_field)
    weight = ma.fields.Integer(**weight_field)
    max_concurrency = ma.fields.Integer(**concurrency_field)
    total_calls_allowed = ma.fields.Integer(**total_field)


class RoutingSettingQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(**status_field)
