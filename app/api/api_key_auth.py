"""`Authorization: Bearer <API key>` on /api (the internal routes keep their own token).

Runs before the other request guards: a valid key makes its user the request's user (no
session is written), a `read` key is refused on writes (403), and the cross-site rule, which
defends cookies, does not apply (a key is not sent by a browser on its own). A Bearer header
with an invalid key answers 401, even with a session cookie beside it.
"""
from flask import g, request

from app.extensions import login_manager
from app.services import api_key_service
from app.domain.errors import Forbidden, Unauthorized

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def bearer_key() -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def authenticate_api_key() -> None:
    if not request.path.startswith("/api/") or request.path.startswith("/api/internal/"):
        return
    key = bearer_key()
    if key is None:
        return
    use = api_key_service.authenticate(key)
    if use is None:
        raise Unauthorized("The API key is unknown, revoked or expired.", code="invalid_api_key")
    g.api_key = use
    login_manager._update_request_context_with_user(use.user)
    if use.scope == "read" and request.method in UNSAFE_METHODS:
        raise Forbidden("This API key may only read.", code="read_only_key")


def key_authenticated() -> bool:
    return g.get("api_key") is not None
