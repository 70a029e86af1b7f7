"""flask-smorest's Api, made to speak CapConduit's single error shape."""
import marshmallow as ma
from flask_smorest import Api


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "not_found"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


class CapConduitApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # app.api.errors registers every handler, HTTPException included.
        pass
