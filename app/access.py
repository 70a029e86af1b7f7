"""Access control for API routes and pages: 401 when nobody is logged in, 403 for the wrong role,
and the internal Bearer token of the Asterisk-side API."""
import hmac
from functools import wraps

from flask import current_app, has_request_context, request
from flask_login import current_user

from app.domain.errors import Forbidden, Unauthorized
from app.domain.roles import PLATFORM_ROLES, ROLES, Role


def acting_user_id() -> int | None:
    """The logged-in user acting in this request (the audit trail's actor); None outside a
    request (the command line, the system)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthorized("Log in first.")
            if current_user.role not in roles:
                raise Forbidden("Your role does not allow this.")
            return view(*args, **kwargs)

        wrapper.required_roles = frozenset(roles)  # read by the OpenAPI error documentation
        return wrapper

    return decorator


admin_required = roles_required(Role.ADMIN)
staff_required = roles_required(*PLATFORM_ROLES)
seller_required = roles_required(Role.SELLER)
login_required = roles_required(*ROLES)


def internal_token_required(view):
    """Bearer INTERNAL_API_TOKEN, compared in constant time, for the Asterisk-side API."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        expected = (current_app.config.get("INTERNAL_API_TOKEN") or "").encode()
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not (expected and scheme.lower() == "bearer"
                and hmac.compare_digest(given.strip().encode(), expected)):
            raise Unauthorized("A valid internal API token is required.",
                               code="invalid_token")
        return view(*args, **kwargs)

    wrapper.requires_internal_token = True  # read by the OpenAPI error documentation
    return wrapper
