"""Pieces every resource schema shares: pagination in and out, the error document."""
import marshmallow as ma
from marshmallow import validate

MAX_PER_PAGE = 100


class PaginationQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageMetaSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


_list_schemas: dict[type, type] = {}


def list_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """`{"items": [...], "page", "per_page", "total", "pages"}` around `item_schema`."""
    if item_schema not in _list_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "ListSchema"
        _list_schemas[item_schema] = type(
            name, (PageMetaSchema,), {"items": ma.fields.List(ma.fields.Nested(item_schema))}
        )
    return _list_schemas[item_schema]


def strip_strings(data: dict, *names: str) -> dict:
    for name in names:
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data
