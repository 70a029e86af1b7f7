"""The list envelope every paged API answer uses: `{"items": [...], "page", "per_page",
"total", "pages"}`."""
import marshmallow as ma


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
