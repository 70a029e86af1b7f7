"""Error pages: what app.api.errors answers outside /api, as HTML.

The API's handlers still decide status, code and message (one place for that); this only
changes how the answer looks. Not logged in → the login page, coming back afterwards.
"""
import logging
import unicodedata
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request, url_for
from markupsafe import escape

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request", 401: "Please log in", 403: "Not allowed", 404: "Not found",
    405: "Not allowed here", 409: "Conflict", 413: "Too large", 422: "Invalid input",
    429: "Too many attempts", 500: "Something went wrong", 503: "Temporarily unavailable",
}
CSRF_MESSAGE = ("This form has expired or did not come from this site. Go back, reload the "
                "page and try again.")


def _unprintable(text: str) -> bool:
    """Control, format, unassigned or line/paragraph-separator characters (CR, LF, NUL, ESC,
    U+2028…): none belongs in a path, and CR/LF would break the Location header (a 500)."""
    return any(unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
               for char in text)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (never another host, never a
    character that does not belong in a URL path)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if len(target) > 2000 or _unprintable(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def render_error_page(status: int, code: str, message: str, details: dict, headers=None):
    accepts = request.accept_mimetypes
    wants_json = accepts["application/json"] > accepts["text/html"]  # a page's script
    if status == 401 and request.method == "GET" and not wants_json:
        here = request.full_path if request.query_string else request.path
        return redirect(url_for("web_auth.login", next=safe_next(here)))
    if status == 400 and "CSRF" in message:
        message = CSRF_MESSAGE
    if status >= 500:
        message = TITLES.get(status, "Something went wrong") + ". " + (
            "Try again in a moment." if status == 503 else "It has been logged.")
    title = TITLES.get(status, "Error")
    try:
        body = render_template("error.html", status=status, title=title, message=message,
                               code=code)
    except Exception:  # the database may be what failed, and the layout asks who is logged in
        log.warning("error page without layout", exc_info=True)
        body = (f"<!doctype html><html lang=en><title>{status} {escape(title)}</title>"
                f"<h1>{escape(title)}</h1><p>{escape(message)}</p></html>")
    response = make_response(body, status)
    if headers:
        response.headers.update(headers)
    return response
