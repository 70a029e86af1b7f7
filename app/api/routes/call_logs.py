"""Call logs: every call for admins and staff, a seller's own calls for that seller."""
from flask import Response, current_app
from flask_login import current_user

from app.access import seller_required, staff_required
from app.api.smorest import Blueprint
from app.schemas.call_log_schemas import (AdminCallLogFilterSchema, AdminCallLogQuerySchema,
                                          CallLogFilterSchema, CallLogPageSchema,
                                          CallLogQuerySchema, CallLogSchema,
                                          CallSummarySchema, PAGE_ATTEMPT_FIELDS,
                                          PAGE_CALL_FIELDS)
from app.schemas.common import PG_BIGINT_MAX
from app.services import call_log_service

admin_blp = Blueprint("admin_call_logs", __name__, url_prefix="/api/admin/call_logs",
                      description="Every call with its attempts (admins and staff)")
seller_blp = Blueprint("seller_call_logs", __name__, url_prefix="/api/seller/call_logs",
                       description="The logged-in seller's calls")
CALL_ID = f"/<id(max={PG_BIGINT_MAX}):call_id>"  # call_logs.id is a bigint


def _list(args: dict) -> Response:
    """The page as CallLogPageSchema documents it, written by PostgreSQL (a page of 50 calls
    with their attempts and decisions would cost more to dump field by field than to find)."""
    cursor, limit = args.pop("cursor", None), args.pop("limit")
    page = call_log_service.list_calls_json(
        args, cursor=cursor, limit=limit, default_region=current_app.config["DEFAULT_REGION"],
        call_fields=PAGE_CALL_FIELDS, attempt_fields=PAGE_ATTEMPT_FIELDS)
    return Response(page, mimetype="application/json")


def _summary(args: dict) -> dict:
    return call_log_service.summarize(args, default_region=current_app.config["DEFAULT_REGION"])


@admin_blp.get("")
@staff_required
@admin_blp.arguments(AdminCallLogQuerySchema, location="query")
@admin_blp.response(200, CallLogPageSchema)
def admin_list(args):
    """Calls newest first, filtered; follow `next_cursor` for older pages."""
    return _list(args)


@admin_blp.get("/summary")
@staff_required
@admin_blp.arguments(AdminCallLogFilterSchema, location="query")
@admin_blp.response(200, CallSummarySchema)
def admin_summary(args):
    """Outcomes, answer rate and talk time, overall and per campaign and client."""
    return _summary(args)


@admin_blp.get(CALL_ID)
@staff_required
@admin_blp.response(200, CallLogSchema)
def admin_get(call_id):
    """One call with its attempts."""
    return call_log_service.get_call(call_id)


@seller_blp.get("")
@seller_required
@seller_blp.arguments(CallLogQuerySchema, location="query")
@seller_blp.response(200, CallLogPageSchema)
def seller_list(args):
    """Your calls newest first, filtered; follow `next_cursor` for older pages."""
    return _list({**args, "seller_id": current_user.id})


@seller_blp.get("/summary")
@seller_required
@seller_blp.arguments(CallLogFilterSchema, location="query")
@seller_blp.response(200, CallSummarySchema)
def seller_summary(args):
    """Outcomes, answer rate and talk time of your calls."""
    return _summary({**args, "seller_id": current_user.id})


@seller_blp.get(CALL_ID)
@seller_required
@seller_blp.response(200, CallLogSchema)
def seller_get(call_id):
    """One of your calls with its attempts."""
    return call_log_service.get_call(call_id, seller_id=current_user.id)
