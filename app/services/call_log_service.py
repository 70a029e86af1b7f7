"""Reading call logs: filtered lists with keyset pagination, one call, summaries, the export."""
import base64
import binascii
import functools
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import (DateTime, Select, false, func, literal_column, select, table, text,
                        tuple_)
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.database.models import CallAttempt, CallLog, Campaign, CampaignClientSetting, Client, User
from app.domain.call_status import CALL_STATUSES, FINAL_STATUSES, CallStatus
from app.domain.errors import ValidationFailed
from app.domain.roles import Role
from app.extensions import db
from app.services.persistence import one_or_404
from app.services.phone_numbers import to_e164
from app.services.routing.steps import caller_number

NEWEST_FIRST = (CallLog.started_at.desc(), CallLog.id.desc())
PG_BIGINT_MAX = 2**63 - 1  # call_logs.id


def encode_cursor(call: CallLog) -> str:
    return _cursor(call.started_at, call.id)


def _cursor(started_at: datetime, call_id: int) -> str:
    raw = f"{started_at.isoformat()}|{call_id}".encode()
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


def _caller_number(caller: str, default_region: str) -> str | None:
    """The caller filter is exact on the caller's E.164 number (call_logs.caller_number), read
    with the same rules as the routing steps: `+14155559701`, `4155559701` and `14155559701`
    find the same calls. A value that is no number (`anonymous`, a part of a number) finds
    nothing: callers without a number have none to match."""
    return caller_number(caller, default_region)


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
        number = _caller_number(filters["caller"], default_region)
        statement = statement.where(CallLog.caller_number == number if number else false())
    return statement


def _older_than(started: datetime, call_id: int):
    """Rows after (started, call_id) in NEWEST_FIRST order: the keyset condition, as a row-value
    comparison, which the (…, started_at, id) indexes take as a bound, not as a filter."""
    return tuple_(CallLog.started_at, CallLog.id) < tuple_(started, call_id)


def _cannot_match(filters: dict) -> bool:
    """A seller's filter on a campaign that is not theirs: no call can match (a call's seller
    is its campaign's), answered with one primary-key read instead of a scan."""
    if filters.get("seller_id") is None or filters.get("campaign_id") is None:
        return False
    owner = db.session.scalar(select(Campaign.seller_id).where(
        Campaign.id == filters["campaign_id"]))
    return owner != filters["seller_id"]


def list_calls(filters: dict, *, cursor: str | None, limit: int, default_region: str) -> dict:
    """Newest first, with their attempts but not their routing decisions (get_call reads one
    call whole). The cursor is the (started_at, id) of the last row shown, so every page is one
    index range scan however deep it is."""
    if _cannot_match(filters):
        if cursor:
            decode_cursor(cursor)
        return {"items": [], "limit": limit, "next_cursor": None}
    statement = _filtered(select(CallLog).options(defer(CallLog.decision, raiseload=True)),
                          filters, default_region)
    if cursor:
        statement = statement.where(_older_than(*decode_cursor(cursor)))
    calls = list(db.session.scalars(statement.order_by(*NEWEST_FIRST).limit(limit + 1)))
    next_cursor = encode_cursor(calls[limit - 1]) if len(calls) > limit else None
    _load_attempts(calls[:limit])
    return {"items": calls[:limit], "limit": limit, "next_cursor": next_cursor}


def list_calls_json(filters: dict, *, cursor: str | None, limit: int, default_region: str,
                    call_fields: tuple[str, ...], attempt_fields: tuple[str, ...]) -> str:
    """The page list_calls returns, as a JSON document {"items", "limit", "next_cursor"} whose
    items PostgreSQL writes itself: each call as an object of `call_fields` (columns of
    call_logs, in that order) plus "attempts", a list of objects of `attempt_fields` (columns
    of call_attempts). One statement, and no Python object per call or per field: the API's
    page costs about what its query costs. Times are written as Python's isoformat() writes
    them, in the session's zone, as the schema would dump them."""
    if _cannot_match(filters):
        if cursor:
            decode_cursor(cursor)
        return json.dumps({"items": [], "limit": limit, "next_cursor": None})
    page = _filtered(select(CallLog), filters, default_region)
    if cursor:
        page = page.where(_older_than(*decode_cursor(cursor)))
    page = page.order_by(*NEWEST_FIRST).limit(limit + 1).cte("page")
    attempts = (
        select(literal_column("a.call_log_id").label("call_log_id"),
               literal_column(f"json_agg({_json_object('a', CallAttempt, attempt_fields)} "
                              "ORDER BY a.attempt_no)").label("items"))
        .select_from(table("call_attempts").alias("a"))
        # the page's months only: attempts are partitioned by their call's start
        .where(literal_column("a.call_log_id").in_(select(page.c.id)),
               literal_column("a.call_started_at").between(
                   select(func.min(page.c.started_at)).scalar_subquery(),
                   select(func.max(page.c.started_at)).scalar_subquery()))
        .group_by(literal_column("a.call_log_id")).cte("attempts"))
    document = literal_column(
        f"{_json_object('page', CallLog, call_fields, close=False)}, "
        "'attempts', coalesce(attempts.items, '[]'::json))::text")
    rows = db.session.execute(
        select(document, page.c.started_at, page.c.id)
        .select_from(page.outerjoin(attempts, attempts.c.call_log_id == page.c.id))
        .order_by(page.c.started_at.desc(), page.c.id.desc())).all()
    next_cursor = _cursor(*rows[limit - 1][1:]) if len(rows) > limit else None
    return (f'{{"items": [{", ".join(row[0] for row in rows[:limit])}], '
            f'"limit": {limit}, "next_cursor": {json.dumps(next_cursor)}}}')


@functools.cache
def _json_object(alias: str, model, fields: tuple[str, ...], close: bool = True) -> str:
    """json_build_object('<field>', <alias>.<field>, ...) over columns of `model` (a field
    that is no column raises KeyError here, before any SQL is written)."""
    pairs = []
    for name in fields:
        column = model.__table__.c[name]
        value = f"{alias}.{column.name}"
        if isinstance(column.type, DateTime):
            value = _iso(value)
        pairs.append(f"'{column.name}', {value}")
    return f"json_build_object({', '.join(pairs)}{')' if close else ''}"


def _load_attempts(calls: list[CallLog]) -> None:
    """The page's attempts in one statement that reads only the months the page spans: by
    call id, within the page's time range (attempts are partitioned by their call's start).
    A relationship load would ask for 50 (id, started_at) pairs, which PostgreSQL plans as
    50 OR-ed index scans."""
    if not calls:
        return
    by_call: dict[int, list[CallAttempt]] = {call.id: [] for call in calls}
    attempts = db.session.scalars(
        select(CallAttempt)
        .where(CallAttempt.call_log_id.in_(list(by_call)),
               CallAttempt.call_started_at.between(min(c.started_at for c in calls),
                                                   max(c.started_at for c in calls)))
        .order_by(CallAttempt.call_log_id, CallAttempt.attempt_no))
    for attempt in attempts:
        by_call[attempt.call_log_id].append(attempt)
    for call in calls:
        set_committed_value(call, "attempts", by_call[call.id])


def get_call(call_id: int, *, seller_id: int | None = None) -> CallLog:
    statement = select(CallLog).options(selectinload(CallLog.attempts)).where(CallLog.id == call_id)
    if seller_id is not None:
        statement = statement.where(CallLog.seller_id == seller_id)
    return one_or_404(statement, "No such call.")


# ---- Summaries -------------------------------------------------------------------------------
#
# One pass over exactly the rows in range. Whole UTC days inside the range come from the daily
# rollup (call_log_days, call_attempt_days: every ended call, kept exact by triggers); the
# partial days at either end, and the calls still open, are read from the tables themselves.
# Calls count by their own start time, attempts by theirs.

def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.utc)


def _whole_days(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None] | None:
    """[first, last) UTC days lying wholly inside [start, end) (None: unbounded), or None
    when no whole day does."""
    first = last = None
    if start is not None:
        start_utc = start.astimezone(timezone.utc)
        first = start_utc.date()
        if start_utc != _utc_midnight(first):
            first += timedelta(days=1)
    if end is not None:
        last = end.astimezone(timezone.utc).date()
    if first is not None and last is not None and first >= last:
        return None
    return first, last


class _Where:
    """WHERE clauses with bound parameters, for hand-written SQL."""

    def __init__(self):
        self.clauses: list[str] = []
        self.params: dict = {}

    def add(self, clause: str, **params) -> "_Where":
        self.clauses.append(clause)
        self.params.update(params)
        return self

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


def _call_filters(filters: dict, default_region: str, *, alias: str, rollup: bool = False,
                  attempts: bool = False) -> _Where:
    """The non-time filters on a call (`alias`: call_logs, or a rollup table)."""
    where = _Where()
    client_col = "call_client_id" if rollup and attempts else "client_id"
    status_col = "call_status" if rollup and attempts else "status"
    for field, column in (("seller_id", "seller_id"), ("campaign_id", "campaign_id"),
                          ("client_id", client_col), ("status", status_col)):
        if filters.get(field) is not None:
            where.add(f"{alias}.{column} = :f_{field}", **{f"f_{field}": filters[field]})
    if filters.get("did"):
        where.add(f"{alias}.did = :f_did",
                  f_did=to_e164(filters["did"], default_region) or filters["did"])
    if filters.get("caller"):
        # No rollup carries callers: a caller filter always reads call_logs (see _plan).
        where.add(f"{alias}.caller_number = :f_caller",
                  f_caller=_caller_number(filters["caller"], default_region))
    return where


def _month_of(moment: datetime) -> datetime:
    utc = moment.astimezone(timezone.utc)
    return datetime(utc.year, utc.month, 1, tzinfo=timezone.utc)


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


# An attempt starts while its call rings, seconds or minutes after the call's start. So the
# attempts of a time range are read in the months of the calls that started up to a day around
# it, where the planner skips every other month of call_attempts and call_logs (both are
# partitioned by the call's start). Attempts further from their call's start (a call moved in
# time, a CDR from a skewed clock) are read by a second SELECT over the other months alone,
# through their index on the attempt's start (one index probe a month, empty in practice): the
# sum stays exact for any data.
ATTEMPT_NEAR_ITS_CALL = timedelta(days=1)


def _near_and_far_months(low: datetime | None, high: datetime | None) -> list[tuple[str, dict]]:
    """For the attempts started in [low, high): conditions on their call's start (the partition
    key, of call_attempts as a and call_logs as c) that split them into the near months and
    all others, which together hold every attempt."""
    bounds = {}
    try:
        if low is not None:
            bounds["month_low"] = _month_of(low - ATTEMPT_NEAR_ITS_CALL)
    except OverflowError:  # the first years of the calendar: no lower bound
        low = None
    try:
        if high is not None:
            bounds["month_high"] = _next_month(_month_of(high + ATTEMPT_NEAR_ITS_CALL))
    except (OverflowError, ValueError):  # the year 9999: no upper bound
        high = None
    if not bounds:
        return [("true", {})]
    near, far = [], []
    for column in ("a.call_started_at", "c.started_at"):
        inside, outside = [], []
        if low is not None:
            inside.append(f"{column} >= :month_low")
            outside.append(f"{column} < :month_low")
        if high is not None:
            inside.append(f"{column} < :month_high")
            outside.append(f"{column} >= :month_high")
        near += inside
        far.append("(" + " OR ".join(outside) + ")")
    return [(" AND ".join(near), bounds), (" AND ".join(far), bounds)]


def _range_parts(filters: dict, default_region: str, days, start, end, *, raw: str,
                 started: str, rollup: str, attempts: bool = False) -> list[tuple[str, dict]]:
    """SELECTs whose union is every row in [start, end): `rollup` (a daily rollup's SELECT,
    alias d) for the whole UTC `days`, `raw` (the tables' SELECT, calls as c, timed by the
    column `started`) for the partial days at either end and for the calls still open.
    `attempts`: `raw` reads call_attempts as a (with c, their calls), timed by their own start,
    each range split by the month of their call's start (_near_and_far_months)."""
    parts = []

    def raw_range(low, high, extra: str = ""):
        # Open calls are few: their attempts are read from them (the partial index of open
        # calls), whatever their months.
        months = _near_and_far_months(low, high) if attempts and not extra else [("true", {})]
        for clause, bounds in months:
            where = _call_filters(filters, default_region, alias="c")
            if low is not None:
                where.add(f"{started} >= :low", low=low)
            if high is not None:
                where.add(f"{started} < :high", high=high)
            if extra:
                where.add(extra)
            if bounds:
                where.add(clause, **bounds)
            parts.append((raw + where.sql(), where.params))

    if days is None:
        raw_range(start, end)
        return parts
    first, last = days
    where = _call_filters(filters, default_region, alias="d", rollup=True, attempts=attempts)
    if first is not None:
        where.add("d.day >= :first_day", first_day=first)
    if last is not None:
        where.add("d.day < :last_day", last_day=last)
    parts.append((rollup + where.sql(), where.params))
    if start is not None and start < _utc_midnight(first):
        raw_range(start, _utc_midnight(first))
    if last is not None and (end is None or end > _utc_midnight(last)):
        raw_range(_utc_midnight(last), end)
    # Calls still open (and their attempts) are in no rollup: read through the partial index
    # of open calls.
    raw_range(None if first is None else _utc_midnight(first),
              None if last is None else _utc_midnight(last), "c.ended_at IS NULL")
    return parts


def _call_parts(filters: dict, default_region: str, days, start, end) -> list[tuple[str, dict]]:
    """SELECTs of (campaign_id, status, calls, billsec_sum, billsec_n, converted, payout,
    revenue) whose union is every call in range."""
    return _range_parts(
        filters, default_region, days, start, end, started="c.started_at",
        raw="SELECT c.campaign_id, c.status, 1 AS calls, coalesce(c.billsec, 0) AS billsec_sum, "
            "(c.billsec IS NOT NULL)::int AS billsec_n, c.converted::int AS converted, "
            "coalesce(c.payout, 0) AS payout, coalesce(c.revenue, 0) AS revenue "
            "FROM call_logs c WHERE ",
        rollup="SELECT d.campaign_id, d.status, d.calls, d.billsec_sum, d.billsec_n, "
               "d.converted, d.payout, d.revenue FROM call_log_days d WHERE ")


def _attempt_parts(filters: dict, default_region: str, days, start, end) -> list[tuple[str, dict]]:
    """SELECTs of (client_id, attempts, answered, billsec_sum, billsec_n) whose union is every
    ended attempt in range (by the attempt's own start), filtered by its call."""
    answer = "a.dial_status = 'ANSWER'"
    return _range_parts(
        filters, default_region, days, start, end, started="a.started_at", attempts=True,
        raw="SELECT a.client_id, 1 AS attempts, "
            f"({answer})::int AS answered, "
            f"CASE WHEN {answer} THEN coalesce(c.billsec, 0) ELSE 0 END AS billsec_sum, "
            f"({answer} AND c.billsec IS NOT NULL)::int AS billsec_n "
            "FROM call_attempts a "
            "JOIN call_logs c ON c.id = a.call_log_id AND c.started_at = a.call_started_at "
            "WHERE a.ended_at IS NOT NULL AND ",
        rollup="SELECT d.client_id, d.attempts, d.answered, d.billsec_sum, d.billsec_n "
               "FROM call_attempt_days d WHERE ")


def _union(parts: list[tuple[str, dict]], select_list: str, group_by: str):
    params, branches = {}, []
    for number, (sql_text, part_params) in enumerate(parts):
        for name, value in part_params.items():
            sql_text = re.sub(rf":{name}\b", f":p{number}_{name}", sql_text)
            params[f"p{number}_{name}"] = value
        branches.append(sql_text)
    statement = (f"SELECT {select_list} FROM (" + "\nUNION ALL\n".join(branches)
                 + f") x GROUP BY {group_by}")
    return db.session.execute(text(statement), params).all()


def _plan(filters: dict, use_rollup: bool):
    start, end = filters.get("started_from"), filters.get("started_to")
    days = _whole_days(start, end) if use_rollup and not filters.get("caller") else None
    return days, start, end


def _call_rows(filters: dict, default_region: str, use_rollup: bool):
    days, start, end = _plan(filters, use_rollup)
    return _union(_call_parts(filters, default_region, days, start, end),
                  "campaign_id, status, sum(calls) AS calls, sum(billsec_sum) AS billsec_sum, "
                  "sum(billsec_n) AS billsec_n, sum(converted) AS converted, "
                  "sum(payout) AS payout, sum(revenue) AS revenue", "campaign_id, status")


def _totals(rows) -> dict:
    by_status: dict[str, int] = {}
    billsec_sum = billsec_n = converted = 0
    payout = revenue = Decimal(0)
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + int(row.calls)
        if row.status == CallStatus.ANSWERED:
            billsec_sum += int(row.billsec_sum)
            billsec_n += int(row.billsec_n)
        converted += int(row.converted)
        payout += row.payout
        revenue += row.revenue
    ended = sum(n for status, n in by_status.items() if status in FINAL_STATUSES)
    answered = by_status.get(CallStatus.ANSWERED, 0)
    return {
        "total": sum(by_status.values()),
        "by_status": {status: by_status.get(status, 0) for status in CALL_STATUSES},
        "answer_rate": round(answered / ended, 4) if ended else 0.0,
        "average_billsec": round(billsec_sum / billsec_n, 1) if billsec_n else 0.0,
        "converted": converted,
        "payout": float(payout),
        "revenue": float(revenue),
    }


def _breakdown(counts: dict, names: dict) -> list[dict]:
    """{id: [total, answered, billsec_sum, billsec_n]} as rows, the busiest first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0] is None, item[0] or 0))
    return [{"id": key, "name": names.get(key), "total": total, "answered": answered,
             "answer_rate": round(answered / total, 4) if total else 0.0,
             "average_billsec": round(billsec_sum / billsec_n, 1) if billsec_n else 0.0}
            for key, (total, answered, billsec_sum, billsec_n) in ordered]


def _names(model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).tuples().all())


def outcome_totals(filters: dict, *, default_region: str, use_rollup: bool = True) -> dict:
    """Counts per outcome, answer rate (answered / ended calls) and average talk time."""
    return _totals(_call_rows(filters, default_region, use_rollup))


def summarize(filters: dict, *, default_region: str, use_rollup: bool = True) -> dict:
    """Counts per outcome, answer rate and average talk time, overall and per campaign/client.

    `use_rollup=False` reads every row in range from the tables (what the rollup must equal)."""
    rows = _call_rows(filters, default_region, use_rollup)
    campaigns: dict = {}
    for row in rows:
        if row.status in FINAL_STATUSES:
            counts = campaigns.setdefault(row.campaign_id, [0, 0, 0, 0])
            counts[0] += int(row.calls)
            if row.status == CallStatus.ANSWERED:
                counts[1] += int(row.calls)
                counts[2] += int(row.billsec_sum)
                counts[3] += int(row.billsec_n)
    campaigns = {key: counts for key, counts in campaigns.items() if counts[0]}  # rollup zeros
    days, start, end = _plan(filters, use_rollup)
    clients = {row.client_id: [int(row.attempts), int(row.answered), int(row.billsec_sum),
                               int(row.billsec_n)]
               for row in _union(_attempt_parts(filters, default_region, days, start, end),
                                 "client_id, sum(attempts) AS attempts, sum(answered) AS answered, "
                                 "sum(billsec_sum) AS billsec_sum, sum(billsec_n) AS billsec_n",
                                 "client_id")}
    clients = {key: counts for key, counts in clients.items() if counts[0]}
    return {**_totals(rows),
            "campaigns": _breakdown(campaigns, _names(Campaign, campaigns)),
            "clients": _breakdown(clients, _names(Client, clients))}


# ---- Export ----------------------------------------------------------------------------------

# The CSV export, column by column, written by PostgreSQL itself (COPY ... TO STDOUT): times as
# Python's isoformat() writes them, booleans as true/false, and text that a spreadsheet would
# run as a formula (=, @, tab, CR, or +/- not followed by a number) prefixed with '.
CSV_COLUMNS = ("id", "uniqueid", "linkedid", "started_at", "answered_at", "ended_at", "did",
               "caller_id", "caller_number", "seller_id", "campaign_id", "campaign", "client_id",
               "client", "status", "duration", "billsec", "hangup_cause", "converted", "payout",
               "revenue", "attempts", "attempt_details", "timezone")
_FORMULA_RE = r"^([=@\t\r]|[+-](?![0-9.[:space:]]*$))"


def _iso(column: str) -> str:
    """A time as Python's isoformat() writes it, written by PostgreSQL in the session's zone:
    isoformat() leaves out microseconds that are zero, and so does the replace()."""
    return (f"replace(to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), "
            "'.000000', '')")


def _safe(expression: str) -> str:
    # The regular expression only for a cell whose first character could start a formula.
    return (f"CASE WHEN strpos(E'=@+-\\t\\r', left({expression}, 1)) > 0 "
            f"AND {expression} ~ '{_FORMULA_RE}' THEN chr(39) || {expression} "
            f"ELSE NULLIF({expression}, '') END")


_CSV_SELECT = {
    "id": "c.id", "uniqueid": _safe("c.uniqueid"), "linkedid": _safe("c.linkedid"),
    "started_at": _iso("c.started_at"), "answered_at": _iso("c.answered_at"),
    "ended_at": _iso("c.ended_at"), "did": _safe("c.did"), "caller_id": _safe("c.caller_id"),
    "caller_number": "c.caller_number",  # E.164 ('+' then digits) or empty: never a formula
    "seller_id": "c.seller_id", "campaign_id": "c.campaign_id",
    "campaign": _safe("(:campaign_names ->> c.campaign_id::text)"),
    "client_id": "c.client_id",
    "client": _safe("(:client_names ->> c.client_id::text)"),
    "status": "c.status",  # one of CALL_STATUSES (a CHECK constraint): never a formula
    "duration": "c.duration", "billsec": "c.billsec",
    "hangup_cause": "c.hangup_cause",
    "converted": "CASE WHEN c.converted THEN 'true' WHEN NOT c.converted THEN 'false' END",
    "payout": "c.payout", "revenue": "c.revenue",
    "attempts": "att.n", "attempt_details": _safe("att.details"),
    "timezone": _safe("CAST(:zone_name AS text)"),
}
_CSV_ATTEMPTS = """
LEFT JOIN LATERAL (
    SELECT count(*) AS n,
           string_agg(a.attempt_no || ': '
                      || coalesce(:client_names ->> a.client_id::text, a.client_id::text, '-')
                      || ' ' || coalesce(a.dial_status, 'pending') || ' '
                      || coalesce(a.duration, 0) || 's', '; ' ORDER BY a.attempt_no) AS details
    FROM call_attempts a
    WHERE a.call_log_id = c.id AND a.call_started_at = c.started_at
) att ON true"""


def export_csv(filters: dict, *, default_region: str, campaign_names: dict | None = None,
               client_names: dict | None = None, zone_name: str = "UTC") -> Iterator[bytes]:
    """Every call matching `filters`, newest first, as CSV rows (CSV_COLUMNS, no header), in
    chunks as PostgreSQL writes them: one statement, one pass over the calls (each call's
    attempts from their own index), streamed by COPY ... TO STDOUT, so an export of any size
    holds one chunk in memory and nothing is read twice. Campaigns and clients are named from
    `campaign_names` / `client_names` ({id: name}, what the viewer may see; any other is left
    empty, or shown by id in the attempt details). Times are written in `zone_name` (an IANA
    zone, named again in the last column) with their UTC offset.
    """
    if _cannot_match(filters):
        return
    where = _call_filters(filters, default_region, alias="c")
    if filters.get("started_from"):
        where.add("c.started_at >= :started_from", started_from=filters["started_from"])
    if filters.get("started_to"):
        where.add("c.started_at < :started_to", started_to=filters["started_to"])
    query = (f"SELECT {', '.join(_CSV_SELECT[name] for name in CSV_COLUMNS)} "
             f"FROM call_logs c {_CSV_ATTEMPTS} WHERE {where.sql()} "
             "ORDER BY c.started_at DESC, c.id DESC")
    params = {**where.params, "zone_name": zone_name,
              "campaign_names": Jsonb({str(k): v for k, v in (campaign_names or {}).items()}),
              "client_names": Jsonb({str(k): v for k, v in (client_names or {}).items()})}
    statement = text(query).bindparams(**params).compile(dialect=db.engine.dialect)
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor:  # to_char(… TZH:TZM) writes times in this zone
        cursor.execute("SELECT set_config('TimeZone', %s, true)", (zone_name,))
    # COPY takes no parameters: psycopg binds them client-side, with its own quoting.
    copy_sql = psycopg.ClientCursor(connection).mogrify(str(statement), statement.params)
    buffer = bytearray()
    with connection.cursor().copy(f"COPY ({copy_sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for row in copy:  # one CSV line each
            buffer += row
            if len(buffer) >= 64 * 1024:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


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
            select(User.id, User.username).where(User.role == Role.SELLER).order_by(User.username)
        ).tuples().all())
    return choices
