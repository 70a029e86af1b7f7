from datetime import timezone

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import InputSchema, strip_strings


class ApiKeySchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String()
    scope = ma.fields.String(metadata={"enum": ["read", "write"]})
    prefix = ma.fields.String(dump_only=True, metadata={"description": "The key's first "
                                                                       "characters, to tell it"})
    created_at = ma.fields.DateTime(dump_only=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class ApiKeyWithKeySchema(ApiKeySchema):
    key = ma.fields.String(attribute="key_once", dump_only=True,
                           metadata={"description": "The key, shown this once: send it as "
                                                    "`Authorization: Bearer <key>`."})


class ApiKeyCreateSchema(InputSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = ma.fields.String(required=True, validate=validate.OneOf(("read", "write")))
    expires_at = ma.fields.AwareDateTime(load_default=None, allow_none=True,
                                         default_timezone=timezone.utc)

    @ma.pre_load
    def strip(self, data, **kwargs):
        return strip_strings(data, "name") if isinstance(data, dict) else data
