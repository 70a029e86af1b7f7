"""HTML forms through the API's own Marshmallow schemas.

A form post is turned into the JSON document the API would receive (`form_document`), loaded
with the same schema, and handed to the same service. Validation errors, from the schema or
from the service (422 and 409 name their fields in `details`), come back as `{field: [message]}`
with dotted names for nested fields (`pjsip.contact_uri`), which the `field` macro shows beside
each field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable, Iterable

import marshmallow as ma
from flask import flash, redirect, request
from marshmallow import validate

from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.schemas import STORAGE_BOUND

OMIT = object()
_SPLIT_LIST = re.compile(r"[\s,;]+")


@dataclass
class FormState:
    """What a form template needs: the values to show again and the errors per field."""

    values: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None  # an error that belongs to no shown field
    # The HTML limits of each field (maxlength, min, max…), read from the schema that loads
    # the form (`with_limits`), so that a form never states a limit of its own.
    limits: dict[str, dict] = field(default_factory=dict)

    def with_limits(self, schema: ma.Schema) -> "FormState":
        self.limits = field_limits(schema)
        return self

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)

    def place(self, shown: Iterable[str]) -> "FormState":
        """Put every error where the page can show it: an error on a part of a shown field
        (`pjsip.identify_ips.203.0.113.7`) goes to that field, naming the part; errors for
        fields the page does not show become the form's message."""
        shown = set(shown)
        stray = []
        for name, messages in list(self.errors.items()):
            if name in shown:
                continue
            owner = next((f for f in shown if name.startswith(f + ".")), None)
            if owner is not None:
                part = name[len(owner) + 1:]
                self.errors.setdefault(owner, []).extend(f"{part}: {m}" for m in messages)
                del self.errors[name]
            else:
                stray.append(" ".join(messages) if name == "_schema"
                             else f"{name.rsplit('.', 1)[-1]}: {' '.join(messages)}")
        if stray and not self.message:
            self.message = "; ".join(stray)
        return self


def field_limits(schema: ma.Schema, prefix: str = "") -> dict[str, dict]:
    """The HTML attributes each field's validators imply, by form name (dotted for nested
    fields): `maxlength` (and `minlength` past 1) for text, `min` and `max` for numbers."""
    limits: dict[str, dict] = {}
    for name, field_obj in schema.fields.items():
        key = prefix + (field_obj.data_key or name)
        if isinstance(field_obj, ma.fields.Nested):
            limits.update(field_limits(field_obj.schema, key + "."))
            continue
        attrs = {}
        for validator in field_obj.validators:
            if isinstance(validator, validate.Length) and isinstance(field_obj, ma.fields.String):
                if validator.max is not None:
                    attrs["maxlength"] = validator.max
                if validator.min and validator.min > 1:
                    attrs["minlength"] = validator.min
            elif isinstance(validator, validate.Range) and isinstance(field_obj, ma.fields.Number):
                if validator.min is not None:
                    attrs["min"] = validator.min
                if validator.max is not None and validator.max < STORAGE_BOUND:
                    attrs["max"] = validator.max
        if attrs:
            limits[key] = attrs
    return limits


def _coerce(field_obj: ma.fields.Field, raw: list[str], blank: object):
    """One form value as the JSON value the API schema expects."""
    if isinstance(field_obj, ma.fields.List):
        values = []
        for item in raw:
            values.extend(part for part in _SPLIT_LIST.split(item) if part)
        return values
    if isinstance(field_obj, ma.fields.Boolean):
        return any(value.lower() in ("on", "true", "1", "yes") for value in raw)
    value = raw[-1]
    if value.strip() == "":
        if blank is not None:
            return blank
        return None if field_obj.allow_none else (
            OMIT if isinstance(field_obj, ma.fields.Integer) else value)
    if isinstance(field_obj, ma.fields.Integer) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    return value


def form_document(schema: ma.Schema, form=None, *, prefix: str = "",
                  blank: dict[str, object] | None = None) -> dict:
    """The JSON document a form post stands for, shaped by `schema`'s fields.

    Only fields the form carries are included (a checkbox group or checkbox comes with a hidden
    empty input so that "none ticked" is sent too). A blank value becomes null for nullable
    fields, is left out for integers, and stays "" otherwise; `blank` overrides that per field
    (OMIT: leave it out, e.g. a password to keep).
    """
    form = request.form if form is None else form
    blank = blank or {}
    document = {}
    for name, field_obj in schema.fields.items():
        if field_obj.dump_only or isinstance(field_obj, ma.fields.Nested):
            continue
        key = field_obj.data_key or name
        if prefix + key not in form:
            continue
        value = _coerce(field_obj, form.getlist(prefix + key), blank.get(key))
        if value is not OMIT:
            document[key] = value
    return document


def flatten(messages, prefix: str = "", values: dict | None = None) -> dict[str, list[str]]:
    """Marshmallow messages or error details as {dotted field name: [messages]}.

    Errors on list items (`{"codecs": {1: [...]}}`) are kept on the list field, naming the item.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            flat.setdefault(prefix.rstrip(".") or "_schema", []).extend(messages)
        return flat
    if not isinstance(messages, dict):
        return flat
    for key, value in messages.items():
        if isinstance(key, int):
            name = prefix.rstrip(".")
            items = (values or {}).get(name) or []
            shown = f" ({items[key]})" if isinstance(items, list) and key < len(items) else ""
            for message in flatten(value, "").get("_schema", []):
                flat.setdefault(name, []).append(f"Entry {key + 1}{shown}: {message}")
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            for sub, sub_messages in flatten(value, name + ".", values).items():
                flat.setdefault(sub, []).extend(sub_messages)
        elif isinstance(value, (list, tuple)) and all(isinstance(m, str) for m in value):
            flat.setdefault(name, []).extend(value)
    return flat


def _flat_values(document: dict, prefix: str = "") -> dict:
    values = {}
    for key, value in document.items():
        if isinstance(value, dict):
            values.update(_flat_values(value, f"{prefix}{key}."))
        else:
            values[prefix + key] = value
    return values


def submit(schema: ma.Schema, document: dict, action: Callable[[dict], object],
           state: FormState) -> object | None:
    """Load `document` with `schema` and run `action(data)`; None when it failed, with the
    errors in `state` (schema errors, or a service's 422/409 with its field details)."""
    try:
        data = schema.load(document)
    except ma.ValidationError as error:
        state.errors = flatten(error.messages, values=_flat_values(document))
        return None
    try:
        return action(data)
    except (ValidationFailed, Conflict) as error:
        db.session.rollback()  # nothing of a refused change stays in the session
        state.errors = flatten(error.details, values=_flat_values(document))
        if isinstance(error, Conflict) or not state.errors:
            state.message = error.message
        return None


def read_query(schema: ma.Schema, names: Iterable[str]) -> tuple[dict, FormState]:
    """A list page's query string (filters and page) through the API's query schema; on
    errors the list is shown unfiltered and the errors beside the filters."""
    state = FormState(values={name: request.args.get(name, "") for name in names}).with_limits(schema)
    document = {name: value for name, value in request.args.items() if value.strip()}
    try:
        return schema.load(document, unknown=ma.EXCLUDE), state
    except ma.ValidationError as error:
        state.errors = flatten(error.messages)
        return schema.load({}), state


def submitted_values(form=None) -> dict:
    """The posted values to show again in the form: the last of each name (a ticked checkbox
    after its hidden blank), never a password."""
    form = request.form if form is None else form
    return {name: form.getlist(name)[-1] for name in form
            if "password" not in name and name != "csrf_token"}


def post_form(state: FormState, schema: ma.Schema, action: Callable[[dict], object],
              build: Callable[[ma.Schema], dict] = form_document) -> object | None:
    """A form post: its values kept in `state` to show again, its document (`build`) loaded
    by `schema` and handed to `action`. The saved object, or None with the errors in `state`."""
    state.values = submitted_values()
    state.with_limits(schema)
    return submit(schema, build(schema), action, state)


def form_page(post: Callable[[], object | None], *, saved: Callable[[object], tuple[str, str]],
              show: Callable[[], object]):
    """A page with one form to create or change something. On a POST, `post()` saves the form
    (None when refused, with the errors in its state); once saved, the browser is sent where
    `saved(obj)` says, with its message flashed: (message, address). Otherwise (a GET, or a
    refused post) `show()` answers the form, with the errors if any."""
    if request.method == "POST":
        obj = post()
        if obj is not None:
            message, address = saved(obj)
            flash(message, "success")
            return redirect(address)
    return show()


def form_status(*states: "FormState | bool | None") -> int:
    """A page's status: 422 when one of its forms was refused, else 200."""
    return 422 if any(s.failed if isinstance(s, FormState) else s for s in states) else 200


def flash_conflicts(back: Callable[..., str]):
    """A page action that a service may refuse with a Conflict (a client still in use, the
    last admin…): the refusal is flashed and the browser sent to `back(**view arguments)`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except Conflict as error:
                flash(error.message, "error")
                return redirect(back(**kwargs))
        return wrapper
    return decorator
