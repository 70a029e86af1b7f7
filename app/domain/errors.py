"""Domain errors. Services raise these; the API answers each as
`{"error": {"code", "message", "details"}}` with the status below (app.api.errors), and the
pages show it beside its fields (app.web.forms) or as an error page (app.web.errors).
"""


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict | None = None, code: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code:
            self.code = code


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class ValidationFailed(AppError):
    """Fields that parse but break a rule. `details` maps each field to its messages."""

    status = 422
    code = "validation_failed"

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationFailed":
        return cls(f"Invalid value for {name}: {message}", details={name: [message]})


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(AppError):
    status = 503
    code = "database_unavailable"
