"""The clients a seller may link: who they are, never how to reach them."""
import marshmallow as ma
from marshmallow import validate

from app.schemas.common import PaginationQuerySchema


class LinkableClientSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    client_identifier = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    department = ma.fields.String(dump_only=True)


class LinkableClientQuerySchema(PaginationQuerySchema):
    q = ma.fields.String(validate=validate.Length(max=200),
                         metadata={"description": "Part of the identifier, name or department"})
