"""The call log: filtered, expandable to attempts, live on its first page, exportable as CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import marshmallow as ma
from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_login import current_user

from app.api.schemas.call_log_schemas import AdminCallLogQuerySchema, CallLogQuerySchema
from app.database.models.call_log import CALL_STATUSES
from app.services import call_log_service
from app.utils.decorators import login_required
from app.utils.exceptions import ValidationFailed
from app.web.dashboard import scope_seller_id
from app.web.forms import FormState, flatten
from app.web.site import status_label, viewer_timezone

bp = Blueprint("web_calls", __name__)
PAGE_SIZE = 50
FILTER_FIELDS = ("from", "to", "campaign_id", "client_id", "did", "status", "caller", "seller_id")
CSV_COLUMNS = ("id", "uniqueid", "linkedid", "started_at", "answered_at", "ended_at", "did",
               "caller_id", "seller_id", "campaign_id", "campaign", "client_id", "client",
               "status", "duration", "billsec", "hangup_cause", "converted", "payout", "revenue",
               "attempts", "attempt_details")
# A spreadsheet runs a cell that starts like a formula: never start a cell with one.
_FORMULA = re.compile(r"^(?:[=@\t\r]|[+-](?![\d.\s]*$))")


def _query_schema() -> ma.Schema:
    return CallLogQuerySchema() if scope_seller_id() is not None else AdminCallLogQuerySchema()


def _day_bound(text: str, *, end: bool) -> str:
    """A date input (YYYY-MM-DD) as the instant its day starts (or, for `to`, ends) in the
    viewer's time zone; anything else is left for the schema to refuse."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, viewer_timezone()).isoformat()


def read_filters() -> tuple[dict, FormState]:
    """The filters of the query string, validated by the API's query schema."""
    state = FormState(values={name: request.args.get(name, "") for name in FILTER_FIELDS})
    document = {name: value.strip() for name, value in state.values.items() if value.strip()}
    if scope_seller_id() is not None:
        document.pop("seller_id", None)
    for name in ("from", "to"):
        if name in document:
            document[name] = _day_bound(document[name], end=name == "to")
    if request.args.get("cursor"):
        document["cursor"] = request.args["cursor"]
    document["limit"] = PAGE_SIZE
    try:
        filters = _query_schema().load(document)
    except ma.ValidationError as error:
        state.errors = flatten(error.messages)
        return {}, state
    if scope_seller_id() is not None:
        filters["seller_id"] = scope_seller_id()
    return filters, state


def _page(filters: dict) -> dict:
    filters = dict(filters)
    cursor, limit = filters.pop("cursor", None), filters.pop("limit", PAGE_SIZE)
    return call_log_service.list_calls(filters, cursor=cursor, limit=limit,
                                       default_region=current_app.config["DEFAULT_REGION"])


def _filter_args(state: FormState) -> dict:
    return {name: value for name, value in state.values.items() if value}


@bp.get("/calls")
@login_required
def index():
    filters, state = read_filters()
    page = _page(filters) if not state.failed else {"items": [], "next_cursor": None}
    choices = call_log_service.filter_choices(scope_seller_id())
    return render_template(
        "calls/index.html", form=state.place(FILTER_FIELDS), page=page, choices=choices,
        statuses=[(status, status_label(status)) for status in CALL_STATUSES],
        args=_filter_args(state), first_page=not request.args.get("cursor"),
        is_admin_view=scope_seller_id() is None), 422 if state.failed else 200


@bp.get("/calls/rows")
@login_required
def rows():
    """The first page's rows alone, for the page's live refresh."""
    filters, state = read_filters()
    page = _page(filters) if not state.failed else {"items": [], "next_cursor": None}
    choices = call_log_service.filter_choices(scope_seller_id())
    return render_template("calls/_rows.html", page=page, choices=choices,
                           is_admin_view=scope_seller_id() is None)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)  # a number is never a formula, negative ones included
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def _text_cell(value: str | None) -> str:
    """_cell for a text column: the regular expression only for a cell that could need it."""
    if not value:
        return ""
    return "'" + value if value[0] in _FORMULA_STARTS and _FORMULA.match(value) else value


_FORMULA_STARTS = frozenset("=@\t\r+-")
_TEXT_COLUMNS = frozenset({"uniqueid", "linkedid", "did", "caller_id", "status"})


@bp.get("/calls/export.csv")
@login_required
def export():
    """Every call the filters select (not one page), streamed from one server-side cursor as it
    is read: one pass, one batch in memory at a time."""
    filters, state = read_filters()
    if state.failed:
        raise ValidationFailed("Some filters are invalid.", details=state.errors)
    filters.pop("cursor", None)
    filters.pop("limit", None)
    choices = call_log_service.filter_choices(scope_seller_id())
    region = current_app.config["DEFAULT_REGION"]
    columns = call_log_service.EXPORT_COLUMNS
    # Each CSV column: where it comes from in the row read, and how it is written.
    text_at = [i for i, name in enumerate(columns) if name in _TEXT_COLUMNS]
    other_at = [i for i, name in enumerate(columns) if name not in _TEXT_COLUMNS]
    campaigns, clients = choices["campaigns"], choices["clients"]
    campaign_at, client_at = columns.index("campaign_id"), columns.index("client_id")
    order = [columns.index(name) if name in columns else name for name in CSV_COLUMNS]

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        count = 0
        for row in call_log_service.iter_calls_for_export(filters, default_region=region):
            attempts = row[-1]
            cells = [""] * len(columns)
            for i in text_at:
                cells[i] = _text_cell(row[i])
            for i in other_at:
                cells[i] = _cell(row[i])
            extra = {
                "campaign": _text_cell(campaigns.get(row[campaign_at], "")),
                "client": _text_cell(clients.get(row[client_at], "")),
                "attempts": str(len(attempts)),
                "attempt_details": _text_cell("; ".join(
                    f"{no}: {clients.get(client_id, client_id or '-')}"
                    f" {dial_status or 'pending'} {duration or 0}s"
                    for no, client_id, dial_status, duration in attempts)),
            }
            writer.writerow([cells[at] if isinstance(at, int) else extra[at] for at in order])
            count += 1
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = datetime.now(viewer_timezone()).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
