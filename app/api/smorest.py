"""flask-smorest's Api, made to speak CapConduit's single error shape and document it."""
from http import HTTPStatus

import marshmallow as ma
from apispec import BasePlugin
import flask_smorest
from flask_smorest import Api
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import IntegerConverter

from app.api import json_input
from app.domain.roles import ROLES
from app.schemas.common import PG_INTEGER_MAX


class RowIdConverter(IntegerConverter):
    """`<id:name>` in API routes: a row id, 1 to PostgreSQL's integer maximum.

    A path id the database could not even compare (over 2**31-1) no longer reaches a query,
    which PostgreSQL would refuse with "integer out of range" (a 500): the route does not
    match and the answer is a 404, as for any id with no row. The OpenAPI document shows the
    bounds. `<id(max=…):name>` for a bigint column.
    """

    def __init__(self, map, max: int = PG_INTEGER_MAX):
        super().__init__(map, min=1, max=max)


class HardenedParser(FlaskParser):
    """webargs' parser with two rules of ours. JSON bodies are read with app.api.json_input
    (too deep, or a number Python cannot read, is a malformed body: 400, never a 500). An
    unknown query parameter is an error (422 naming it), as an unknown body field already is:
    `per_page=1` on a list that pages with `limit` must not silently answer 50 rows."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return json_input.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: flask-smorest's, with the hardened parser."""

    ARGUMENTS_PARSER = HardenedParser()


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "not_found"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


WRITE_METHODS = ("post", "put", "patch", "delete")
SESSION_SCHEME = "sessionCookie"
INTERNAL_SCHEME = "internalToken"
API_KEY_SCHEME = "apiKey"


def _guards(view, method: str) -> list:
    """The access decorators (app.access) on a route's view and on its method."""
    functions = [view]
    view_class = getattr(view, "view_class", None)
    if view_class is not None and hasattr(view_class, method):
        functions.append(getattr(view_class, method))
    return functions


class ErrorResponsesPlugin(BasePlugin):
    """Documents, on every operation, the errors its guards and shape make possible.

    Derived from the route itself, so a new route is documented without a decorator to forget:
    401 when it needs a session (or the internal token), 403 when it needs a role not every
    user has and on every write (cross-site requests are refused), 404 when the path names a
    row, 400 and 413 for JSON bodies (malformed, past MAX_CONTENT_LENGTH), 415 on POST (it must
    be JSON), 503 everywhere (the database may be down). 409, 422 and 429 come from the routes'
    own decorators, where the service can answer them. Each uses the Error schema: the response
    components flask-smorest registers per HTTP status, named after it.
    """

    def __init__(self, api: "CapConduitApi"):
        super().__init__()
        self.api = api

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs):
        if rule is None or not operations:
            return
        view = self.api._app.view_functions.get(rule.endpoint)
        for method, operation in operations.items():
            if method not in ("get", *WRITE_METHODS):
                continue
            guards = _guards(view, method)
            roles = set(ROLES)
            needs_login = False
            security = None
            for guard in guards:
                if getattr(guard, "required_roles", None) is not None:
                    roles &= guard.required_roles
                    needs_login = True
                    security = security or [{SESSION_SCHEME: []}, {API_KEY_SCHEME: []}]
                if getattr(guard, "requires_internal_token", False):
                    needs_login = True
                    security = [{INTERNAL_SCHEME: []}]
            if security:
                operation.setdefault("security", security)
            statuses = [503]
            if needs_login:
                statuses.append(401)
            if method in WRITE_METHODS or roles != set(ROLES):
                statuses.append(403)
            if rule.arguments:
                statuses.append(404)
            if method == "post":
                statuses.append(415)
            if "requestBody" in operation:
                statuses += [400, 413]
            responses = operation.setdefault("responses", {})
            documented = {str(status) for status in responses}
            for status in sorted(statuses):
                if str(status) not in documented:
                    responses[str(status)] = HTTPStatus(status).name


class CapConduitApi(Api):
    ERROR_SCHEMA = ErrorSchema
    # Every error an operation can answer is listed with its status (ErrorResponsesPlugin and
    # the routes' alt_response), rather than one catch-all `default`.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app, *args, **kwargs):
        app.url_map.converters["id"] = RowIdConverter  # before any route uses it
        super().init_app(app, *args, **kwargs)
        # How /api/docs can authorize: each operation names the one it needs (security).
        self.spec.components.security_scheme(SESSION_SCHEME, {
            "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "The session cookie POST /api/auth/login sets (a browser on /api/docs "
                           "sends it by itself once logged in)."})
        self.spec.components.security_scheme(INTERNAL_SCHEME, {
            "type": "http", "scheme": "bearer",
            "description": "INTERNAL_API_TOKEN, for /api/internal/* (the Asterisk side)."})
        self.spec.components.security_scheme(API_KEY_SCHEME, {
            "type": "http", "scheme": "bearer",
            "description": "A personal API key (POST /api/auth/keys): every operation your "
                           "role allows; a `read` key only reads."})

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), ErrorResponsesPlugin(self)],
                           **kwargs)

    def _register_error_handlers(self):
        # app.api.errors registers every handler, HTTPException included.
        pass


api = CapConduitApi()
