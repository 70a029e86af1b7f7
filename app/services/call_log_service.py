"""Reading call logs: filtered lists with keyset pagination, one call, and summaries."""
import base64
import binascii
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from app.database.models import (CallAttempt, CallLog, Campaign, CampaignClientSetting, Client,
                                 User)
from app.extensions import db
from app.services.phone_numbers import to_e164
from app.utils.exceptions import NotFound, ValidationFailed

FINAL_STATUSES = ("answered", "no_route", "all_capped", "all_failed", "abandoned", "error",
                  "duplicate", "closed", "overload")
NEWEST_FIRST = (CallLog.started_at.desc(), CallLog.id.desc())
EXPORT_BATCH_SIZE = 500
PG_BIGINT_MAX = 2**63 - 1  # call_logs.id


def encode_cursor(call: CallLog) -> str:
    raw = f"{call.started_at.isoformat()}|{call.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (started_at, id) a cursor names; anything else (an id PostgreSQL's bigint cannot
    hold, a time without a date…) is a 422 on `cursor`, never a query that fails."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, _, call_id = raw.partition("|")
        if not call_id.isascii() or not call_id.isdigit() or len(call_id) > 19:
            raise ValueError(call_id)
        started_at, row_id = datetime.fromisoformat(started), int(call_id)
        if not 1 <= row_id <= PG_BIGINT_MAX:
            raise ValueError(call_id)
        return started_at, row_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.field("cursor", "Not a cursor this API gave out.") from None


def _filtered(statement: Select, filters: dict, default_region: str) -> Select:
    if filters.get("seller_id") is not None:
        statement = statement.where(CallLog.seller_id == filters["seller_id"])
    if filters.get("started_from"):
        statement = statement.where(CallLog.started_at >= filters["started_from"])
    if filters.get("started_to"):
        statement = statement.where(CallLog.started_at < filters["started_to"])
    for field in ("campaign_id", "client_id", "status"):
        if filters.get(field) is not None:
            statement = statement.where(getattr(CallLog, field) == filters[field])
    if filters.get("did"):
        statement = statement.where(CallLog.did == (to_e164(filters["did"], default_region)
                                                    or filters["did"]))
    if filters.get("caller"):
        digits = filters["caller"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(CallLog.caller_id.like(f"%{digits}%", escape="\\"))
    return statement


def _older_than(started: datetime, call_id: int):
    """Rows after (started, call_id) in NEWEST_FIRST order: the keyset condition."""
    return or_(CallLog.started_at < started,
               and_(CallLog.started_at == started, CallLog.id < call_id))


def list_calls(filters: dict, *, cursor: str | None, limit: int, default_region: str) -> dict:
    """Newest first. The cursor is the (started_at, id) of the last row shown, so every page
    is one index range scan however deep it is."""
    statement = _filtered(select(CallLog), filters, default_region)
    if cursor:
        statement = statement.where(_older_than(*decode_cursor(cursor)))
    statement = (statement.options(selectinload(CallLog.attempts))
                 .order_by(*NEWEST_FIRST).limit(limit + 1))
    calls = list(db.session.scalars(statement))
    next_cursor = encode_cursor(calls[limit - 1]) if len(calls) > limit else None
    return {"items": calls[:limit], "limit": limit, "next_cursor": next_cursor}


def get_call(call_id: int, *, seller_id: int | None = None) -> CallLog:
    statement = select(CallLog).options(selectinload(CallLog.attempts)).where(CallLog.id == call_id)
    if seller_id is not None:
        statement = statement.where(CallLog.seller_id == seller_id)
    call = db.session.scalar(statement)
    if call is None:
        raise NotFound("No such call.")
    return call


def _rows_as_breakdown(rows) -> list[dict]:
    return [{"id": row.id, "name": row.name, "total": row.total, "answered": row.answered,
             "answer_rate": round(row.answered / row.total, 4) if row.total else 0.0,
             "average_billsec": round(float(row.average_billsec), 1)}
            for row in rows]


def _per_campaign(filters: dict, default_region: str) -> list[dict]:
    """Calls per campaign: how many ended, how many were answered."""
    is_answered = CallLog.status == "answered"
    statement = _filtered(
        select(CallLog.campaign_id.label("id"), Campaign.name.label("name"),
               func.count().label("total"), func.count().filter(is_answered).label("answered"),
               func.coalesce(func.avg(CallLog.billsec).filter(is_answered), 0)
               .label("average_billsec"))
        .select_from(CallLog).outerjoin(Campaign, Campaign.id == CallLog.campaign_id)
        .where(CallLog.status.in_(FINAL_STATUSES))
        .group_by(CallLog.campaign_id, Campaign.name).order_by(func.count().desc()),
        filters, default_region)
    return _rows_as_breakdown(db.session.execute(statement))


def _per_client(filters: dict, default_region: str) -> list[dict]:
    """Calls offered to each client (dial attempts) and how many it answered."""
    is_answered = CallAttempt.dial_status == "ANSWER"
    statement = _filtered(
        select(CallAttempt.client_id.label("id"), Client.name.label("name"),
               func.count().label("total"), func.count().filter(is_answered).label("answered"),
               func.coalesce(func.avg(CallLog.billsec).filter(is_answered), 0)
               .label("average_billsec"))
        .select_from(CallAttempt).join(CallLog, CallLog.id == CallAttempt.call_log_id)
        .outerjoin(Client, Client.id == CallAttempt.client_id)
        .where(CallAttempt.ended_at.is_not(None))
        .group_by(CallAttempt.client_id, Client.name).order_by(func.count().desc()),
        filters, default_region)
    return _rows_as_breakdown(db.session.execute(statement))


def outcome_totals(filters: dict, *, default_region: str) -> dict:
    """Counts per outcome, answer rate (answered / ended calls) and average talk time."""
    by_status = dict(db.session.execute(
        _filtered(select(CallLog.status, func.count()).group_by(CallLog.status),
                  filters, default_region)).all())
    ended = sum(n for status, n in by_status.items() if status in FINAL_STATUSES)
    answered = by_status.get("answered", 0)
    average = db.session.scalar(_filtered(
        select(func.coalesce(func.avg(CallLog.billsec), 0)).where(CallLog.status == "answered"),
        filters, default_region))
    billing = db.session.execute(_filtered(
        select(func.count().filter(CallLog.converted), func.coalesce(func.sum(CallLog.payout), 0),
               func.coalesce(func.sum(CallLog.revenue), 0)), filters, default_region)).one()
    return {
        "total": sum(by_status.values()),
        "by_status": {status: by_status.get(status, 0) for status in ("in_progress", *FINAL_STATUSES)},
        "answer_rate": round(answered / ended, 4) if ended else 0.0,
        "average_billsec": round(float(average or 0), 1),
        "converted": billing[0],
        "payout": float(billing[1]),
        "revenue": float(billing[2]),
    }


def summarize(filters: dict, *, default_region: str) -> dict:
    """Counts per outcome, answer rate and average talk time, overall and per campaign/client."""
    return {**outcome_totals(filters, default_region=default_region),
            "campaigns": _per_campaign(filters, default_region),
            "clients": _per_client(filters, default_region)}


def iter_calls_for_export(filters: dict, *, default_region: str,
                          batch_size: int | None = None) -> Iterator[tuple[dict, list[dict]]]:
    """Every call matching `filters`, newest first, with its attempts: (call, attempts).

    Reads `batch_size` calls at a time by keyset, as plain rows (no ORM objects kept in the
    session), so an export of any size holds one batch in memory at a time.
    """
    batch_size = batch_size or EXPORT_BATCH_SIZE
    calls, attempts = CallLog.__table__, CallAttempt.__table__
    statement = _filtered(select(calls), filters, default_region).order_by(*NEWEST_FIRST)
    last: tuple[datetime, int] | None = None
    while True:
        page = statement if last is None else statement.where(_older_than(*last))
        rows = db.session.execute(page.limit(batch_size)).mappings().all()
        if not rows:
            return
        by_call: dict[int, list[dict]] = {}
        for attempt in db.session.execute(
                select(attempts).where(attempts.c.call_log_id.in_([row["id"] for row in rows]))
                .order_by(attempts.c.call_log_id, attempts.c.attempt_no)).mappings():
            by_call.setdefault(attempt["call_log_id"], []).append(dict(attempt))
        for row in rows:
            yield dict(row), by_call.get(row["id"], [])
        if len(rows) < batch_size:
            return
        last = (rows[-1]["started_at"], rows[-1]["id"])


def filter_choices(seller_id: int | None) -> dict:
    """What a call-log filter offers, as {id: name}: a seller's campaigns and the clients they
    link; for admins and staff (`seller_id=None`) every campaign, client and seller."""
    campaigns = select(Campaign.id, Campaign.name).order_by(Campaign.name, Campaign.id)
    clients = select(Client.id, Client.name).order_by(Client.name, Client.id)
    if seller_id is not None:
        campaigns = campaigns.where(Campaign.seller_id == seller_id)
        clients = clients.where(Client.id.in_(
            select(CampaignClientSetting.client_id)
            .join(Campaign, Campaign.id == CampaignClientSetting.campaign_id)
            .where(Campaign.seller_id == seller_id)))
    choices = {"campaigns": dict(db.session.execute(campaigns).tuples().all()),
               "clients": dict(db.session.execute(clients).tuples().all())}
    if seller_id is None:
        choices["sellers"] = dict(db.session.execute(
            select(User.id, User.username).where(User.role == "seller").order_by(User.username)
        ).tuples().all())
    return choices
