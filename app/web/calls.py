"""The call log: filtered, expandable to attempts, live on its first page, exportable as CSV."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import marshmallow as ma
from flask import Blueprint, Response, current_app, render_template, request, stream_with_context

from app.access import login_required
from app.domain.call_status import CALL_STATUSES
from app.domain.errors import ValidationFailed
from app.schemas.call_log_schemas import AdminCallLogQuerySchema, CallLogQuerySchema
from app.schemas.common import PG_BIGINT_MAX
from app.services import call_log_service
from app.web.dashboard import scope_seller_id
from app.web.formatting import viewer_timezone, viewer_timezone_name
from app.web.forms import FormState, flatten, form_status
from app.web.site import status_label

bp = Blueprint("web_calls", __name__)
PAGE_SIZE = 50
FILTER_FIELDS = ("from", "to", "campaign_id", "client_id", "did", "status", "caller", "seller_id")
CSV_COLUMNS = call_log_service.CSV_COLUMNS


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
    state = FormState(values={name: request.args.get(name, "") for name in FILTER_FIELDS}
                      ).with_limits(_query_schema())
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
        is_admin_view=scope_seller_id() is None), form_status(state)


@bp.get("/calls/rows")
@login_required
def rows():
    """The first page's rows alone, for the page's live refresh."""
    filters, state = read_filters()
    page = _page(filters) if not state.failed else {"items": [], "next_cursor": None}
    choices = call_log_service.filter_choices(scope_seller_id())
    return render_template("calls/_rows.html", page=page, choices=choices,
                           is_admin_view=scope_seller_id() is None)


@bp.get(f"/calls/<id(max={PG_BIGINT_MAX}):call_id>/detail")  # call_logs.id: a bigint
@login_required
def detail(call_id: int):
    """One call's billing, attempts and routing decision, which a row shows when opened: a page
    of rows carries none of them, so it costs what its 50 rows cost, not their decisions."""
    call = call_log_service.get_call(call_id, seller_id=scope_seller_id())
    choices = call_log_service.filter_choices(scope_seller_id())
    return render_template("calls/_detail.html", call=call, choices=choices)


@bp.get("/calls/export.csv")
@login_required
def export():
    """Every call the filters select (not one page), streamed as PostgreSQL writes it: one
    COPY of one query, one pass, one chunk in memory at a time (call_log_service.export_csv)."""
    filters, state = read_filters()
    if state.failed:
        raise ValidationFailed("Some filters are invalid.", details=state.errors)
    filters.pop("cursor", None)
    filters.pop("limit", None)
    choices = call_log_service.filter_choices(scope_seller_id())
    region = current_app.config["DEFAULT_REGION"]
    zone_name = viewer_timezone_name()

    def lines():
        yield ",".join(CSV_COLUMNS) + "\r\n"
        yield from call_log_service.export_csv(filters, default_region=region,
                                               campaign_names=choices["campaigns"],
                                               client_names=choices["clients"],
                                               zone_name=zone_name)

    stamp = datetime.now(viewer_timezone()).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
