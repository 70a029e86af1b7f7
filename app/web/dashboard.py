"""The live dashboard: a page, and the small JSON document its script polls."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from app.access import login_required
from app.domain.roles import Role
from app.services import dashboard_service
from app.web.formatting import viewer_timezone

bp = Blueprint("web_dashboard", __name__)
REFRESH_SECONDS = 5


def scope_seller_id() -> int | None:
    """Admins and staff see the whole platform; a seller only their own campaigns."""
    return None if Role(current_user.role).sees_platform else current_user.id


def _timezone():
    name = request.args.get("tz", "")
    if name and len(name) < 64:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return viewer_timezone()


def jsonable(value):
    """Dates as ISO 8601 text and amounts as numbers, recursively (Flask's default would write
    HTTP dates, and amounts as text)."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _snapshot() -> dict:
    return jsonable(dashboard_service.snapshot(
        seller_id=scope_seller_id(), tz=_timezone(),
        default_region=current_app.config["DEFAULT_REGION"]))


@bp.get("/dashboard")
@login_required
def index():
    return render_template("dashboard/index.html", data=_snapshot(), refresh=REFRESH_SECONDS)


@bp.get("/dashboard/data")
@login_required
def data():
    response = jsonify(_snapshot())
    response.headers["Cache-Control"] = "no-store"
    return response
