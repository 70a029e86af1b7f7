"""How pages write times, durations and amounts: in the viewer's time zone, labelled."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, request

TZ_COOKIE = "tz"  # the viewer's IANA zone, as the page's script (app.js) reports it


def viewer_timezone():
    """The viewer's time zone, as the page's script reported it (cookie), else UTC; read once
    a request (a page of calls writes hundreds of times)."""
    if "viewer_timezone" not in g:
        name = request.cookies.get(TZ_COOKIE, "")
        try:
            g.viewer_timezone = ZoneInfo(name) if name and len(name) < 64 else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            g.viewer_timezone = timezone.utc
    return g.viewer_timezone


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


def viewer_timezone_name() -> str:
    """The viewer's IANA zone name (a default for new clients and campaigns), else UTC."""
    return getattr(viewer_timezone(), "key", "UTC")
