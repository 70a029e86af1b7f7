"""Pieces every input schema shares: input hygiene, row ids, pagination."""
from collections.abc import Mapping

import marshmallow as ma
from marshmallow import validate

MAX_PER_PAGE = 100
PG_INTEGER_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of the id columns
PG_BIGINT_MAX = 2**63 - 1

UNSTORABLE_TEXT = "Text must not contain NUL characters or unpaired surrogates."


def _unstorable_text(value):
    """Where `value` holds text PostgreSQL cannot store: {key: [message] or nested}, or None.

    PostgreSQL text cannot hold U+0000, and a lone surrogate (JSON allows "\\ud800") cannot
    be encoded to UTF-8: either would fail the query with a 500 instead of a 422.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return [UNSTORABLE_TEXT]
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [UNSTORABLE_TEXT]
        return None
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    errors = {}
    for key, item in items:
        problem = _unstorable_text(item)
        if problem is None and isinstance(key, str):
            problem = _unstorable_text(key)
        if problem is not None:
            errors[key if isinstance(key, (str, int)) else str(key)] = problem
    return errors or None


class InputSchema(ma.Schema):
    """Base of every request schema, body or query string: rejects text the database cannot
    store (anywhere in the input, nested objects and lists included) with a 422 naming the
    field, before any field is read."""

    @ma.pre_load
    def reject_unstorable_text(self, data, **kwargs):
        if isinstance(data, Mapping):  # else marshmallow answers that it wants an object
            if hasattr(data, "getlist"):  # a query string: every value of repeated names
                problems = _unstorable_text({key: data.getlist(key) for key in data})
            else:
                problems = _unstorable_text(data)
            if problems:
                raise ma.ValidationError(problems)
        return data


def row_id(**kwargs) -> ma.fields.Integer:
    """A reference to a row by id: 1 to PostgreSQL's integer maximum. A larger number can
    match no row, and PostgreSQL would refuse to compare it ("integer out of range")."""
    return ma.fields.Integer(validate=validate.Range(min=1, max=PG_INTEGER_MAX), **kwargs)


class PaginationQuerySchema(InputSchema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def strip_strings(data: dict, *names: str) -> dict:
    for name in names:
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data
