"""What every page shares: templates, static files, navigation, filters and headers."""
from __future__ import annotations

import hashlib
import zoneinfo
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, request, url_for
from flask_login import current_user

from app.api.errors import is_api_request

STATIC = Path(__file__).resolve().parent / "static"
bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

# Scripts and styles only from our own files: no inline script can run on a page.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
TZ_COOKIE = "tz"

# (endpoint, label, roles that see it, the endpoints that count as "here")
NAVIGATION = (
    ("web_dashboard.index", "Dashboard", ("admin", "staff", "seller"), "web_dashboard."),
    ("web_seller.campaigns", "Campaigns", ("seller",), "web_seller.campaign"),
    ("web_seller.dids", "DIDs", ("seller",), "web_seller.did"),
    ("web_calls.index", "Calls", ("admin", "staff", "seller"), "web_calls."),
    ("web_clients.clients", "Clients", ("admin", "staff"), "web_clients.client"),
    ("web_clients.carriers", "Carriers", ("admin", "staff"), "web_clients.carrier"),
    ("web_admin.users", "Users", ("admin",), "web_admin."),
    ("web_integrations.webhooks", "Webhooks", ("admin", "seller"), "web_integrations.webhook"),
    ("web_integrations.api_keys", "API keys", ("admin", "staff", "seller"),
     "web_integrations.api_key"),
)

STATUS_LABELS = {
    "in_progress": "In progress", "answered": "Answered", "no_route": "No route",
    "all_capped": "All capped", "all_failed": "All failed", "abandoned": "Abandoned",
    "error": "Error", "duplicate": "Duplicate", "closed": "Closed", "overload": "Overload",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status) or status.replace("_", " ").capitalize()


@lru_cache(maxsize=64)
def _asset_version(filename: str, mtime: float) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str:
    """A static file's URL that changes whenever the file does (safe to cache long)."""
    path = STATIC / filename
    return url_for("web.static", filename=filename,
                   v=_asset_version(filename, path.stat().st_mtime))


def viewer_timezone():
    """The viewer's time zone, as the page's script reported it (cookie), else UTC."""
    name = request.cookies.get(TZ_COOKIE, "")
    try:
        return ZoneInfo(name) if name and len(name) < 64 else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M:%S", *,
               zone: bool = False) -> str:
    """An instant in the viewer's time zone; ISO 8601 text (as stored in a decision) too.
    `zone=True` labels it with the zone's abbreviation (10:04:05 CET), where no column
    heading names the zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(viewer_timezone()).strftime(fmt + (" %Z" if zone else ""))


def seconds(value: int | float | None) -> str:
    """Talk time as 1:05 or 1:02:05."""
    if value is None:
        return ""
    value = int(round(value))
    hours, rest = divmod(value, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def money(value: Decimal | float | int | None, blank: str = "—") -> str:
    """An amount as 1,234.50 (no currency: the platform keeps none)."""
    if value is None:
        return blank
    return f"{Decimal(str(value)):,.2f}"


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """IANA names for the time zone fields' suggestions (the schemas validate the value)."""
    names = zoneinfo.available_timezones()
    return ("UTC", *sorted(n for n in names if n != "UTC"))


def viewer_timezone_name() -> str:
    """The viewer's IANA zone name (a default for new clients and campaigns), else UTC."""
    return getattr(viewer_timezone(), "key", "UTC")


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
    from app.web import decisions

    app.jinja_env.globals.update(asset_url=asset_url, navigation=navigation,
                                 status_label=status_label, timezone_names=timezone_names,
                                 verdict=decisions.verdict, reason_text=decisions.reason_text,
                                 caps_summary=decisions.caps_summary,
                                 viewer_timezone_name=viewer_timezone_name)
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
