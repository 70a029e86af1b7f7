"""What every page shares: templates, static files, navigation, template helpers and headers."""
from __future__ import annotations

import hashlib
import zoneinfo
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, request, url_for
from flask_login import current_user

from app.api.errors import is_api_request
from app.domain.call_status import CALL_STATUSES, DASHBOARD_OUTCOMES, CallStatus
from app.domain.roles import PLATFORM_ROLES, ROLES, Role
from app.web import decisions
from app.web.formatting import local_time, money, seconds, viewer_timezone_name

STATIC = Path(__file__).resolve().parent / "static"
bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

# Scripts and styles only from our own files: no inline script can run on a page.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

# (endpoint, label, roles that see it, the endpoints that count as "here")
NAVIGATION = (
    ("web_dashboard.index", "Dashboard", ROLES, "web_dashboard."),
    ("web_seller.campaigns", "Campaigns", (Role.SELLER,), "web_seller.campaign"),
    ("web_seller.dids", "DIDs", (Role.SELLER,), "web_seller.did"),
    ("web_calls.index", "Calls", ROLES, "web_calls."),
    ("web_clients.clients", "Clients", PLATFORM_ROLES, "web_clients.client"),
    ("web_carriers.carriers", "Carriers", PLATFORM_ROLES, "web_carriers."),
    ("web_admin.users", "Users", (Role.ADMIN,), "web_admin."),
    ("web_integrations.webhooks", "Webhooks", (Role.ADMIN, Role.SELLER), "web_integrations.webhook"),
    ("web_integrations.api_keys", "API keys", ROLES, "web_integrations.api_key"),
)

def status_label(status: str) -> str:
    """A call's status in words (CallStatus.label); any other status (active…) capitalised."""
    if status in CALL_STATUSES:
        return CallStatus(status).label
    return status.replace("_", " ").capitalize()


@lru_cache(maxsize=64)
def _asset_version(filename: str, mtime: float) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str:
    """A static file's URL that changes whenever the file does (safe to cache long)."""
    path = STATIC / filename
    return url_for("web.static", filename=filename,
                   v=_asset_version(filename, path.stat().st_mtime))


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """IANA names for the time zone fields' suggestions (the schemas validate the value)."""
    names = zoneinfo.available_timezones()
    return ("UTC", *sorted(n for n in names if n != "UTC"))


def as_options(values) -> list[tuple[str, str]]:
    """A select's (value, label) pairs for plain values."""
    return [(value, str(value).replace("_", " ")) for value in values]


def navigation() -> list[tuple[str, str, bool]]:
    """(endpoint, label, is the current section) for the logged-in user's role."""
    if not current_user.is_authenticated:
        return []
    here = request.endpoint or ""
    return [(endpoint, label, here.startswith(section))
            for endpoint, label, roles, section in NAVIGATION if current_user.role in roles]


def install(app: Flask) -> None:
    app.jinja_env.globals.update(asset_url=asset_url, navigation=navigation,
                                 status_label=status_label, timezone_names=timezone_names,
                                 verdict=decisions.verdict, reason_text=decisions.reason_text,
                                 first_choice=decisions.first_choice,
                                 caps_summary=decisions.caps_summary,
                                 price_text=decisions.price_text,
                                 viewer_timezone_name=viewer_timezone_name, Role=Role,
                                 CallStatus=CallStatus,
                                 dashboard_outcomes=[(s, CallStatus(s).label)
                                                     for s in DASHBOARD_OUTCOMES])
    app.jinja_env.filters.update(local_time=local_time, seconds=seconds, as_options=as_options,
                                 money=money)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.after_request
    def page_headers(response):
        if not is_api_request() and response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            # Pages show tenants' data: never from a shared cache, nor after logout via "back".
            response.headers.setdefault("Cache-Control", "no-store")
        return response
