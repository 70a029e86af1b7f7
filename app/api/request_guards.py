"""Checks every API request passes before its view runs."""
from urllib.parse import urlsplit

from flask import Flask, request

from app.api.api_key_auth import authenticate_api_key, key_authenticated
from app.domain.errors import BadRequest, Forbidden, UnsupportedMediaType

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _same_origin(origin: str, host_url: str) -> bool:
    given, ours = urlsplit(origin), urlsplit(host_url)
    return (given.scheme, given.netloc) == (ours.scheme, ours.netloc)


def reject_cross_site_writes() -> None:
    """CSRF defence for the cookie-authenticated API.

    Browsers attach our session cookie to same-site requests only (SameSite=Lax), and a
    cross-origin page can neither send a JSON body nor use PUT/PATCH/DELETE without a CORS
    preflight, which this API never grants. So: a write whose Origin is another site is
    refused, and a POST must be JSON (a form post from another site cannot be).
    """
    if request.method not in UNSAFE_METHODS or not request.path.startswith("/api/"):
        return
    if key_authenticated():  # an API key is never sent by a browser on its own
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and not _same_origin(origin, request.host_url):
        raise Forbidden("Cross-site requests are not accepted.", code="cross_site_request")
    if origin == "null":
        raise Forbidden("Cross-site requests are not accepted.", code="cross_site_request")
    if request.method == "POST" and not request.is_json:
        raise UnsupportedMediaType("Send the request body as JSON (Content-Type: application/json).")


def reject_undecodable_query_strings() -> None:
    """A query string must be UTF-8 (percent-escaped or not): raw bytes that are not would
    make every read of `request.args` fail (a 500). Every request, pages and API."""
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The query string is not valid UTF-8.") from None


def register_request_guards(app: Flask) -> None:
    app.before_request(reject_undecodable_query_strings)
    app.before_request(authenticate_api_key)
    app.before_request(reject_cross_site_writes)
