import marshmallow as ma
from marshmallow import validate

from app.schemas.common import PaginationQuerySchema, row_id
from app.services.audit_service import AUDITED, SQL_AUDITED

ENTITY_TYPES = sorted(set(AUDITED.values()) | {"pjsip_endpoint"} | set(SQL_AUDITED))


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: CLI or system"})
    action = ma.fields.String(metadata={"enum": ["create", "update", "delete", "reconcile", "postback"]})
    entity_type = ma.fields.String(metadata={"enum": ENTITY_TYPES})
    entity_id = ma.fields.String()
    changes = ma.fields.Dict(metadata={
        "description": "create/delete: the row; update and reconcile: {field: [old, new]}; "
                       "secrets: \"(changed)\""})


class AuditQuerySchema(PaginationQuerySchema):
    entity_type = ma.fields.String(validate=validate.OneOf(ENTITY_TYPES))
    entity_id = ma.fields.String(validate=validate.Length(min=1, max=80))
    actor_id = row_id()
