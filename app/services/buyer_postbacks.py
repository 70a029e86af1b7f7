"""Buyers' conversion postbacks: per client, a secret endpoint (`POST /api/postbacks/<token>`)
where the call center that answered a call confirms or rejects its conversion, within a window
after the call's end that an admin sets. The token is shown once and stored as its SHA-256;
a wrong token, a call of another client or a call outside the window all answer 404 alike.
The change itself is one statement (cc_buyer_postback in the routing SQL): counts, audit and
the call.converted event commit with it.
"""
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, text

from app.database.models import CallLog, CallLogKey, Client, ClientPostback
from app.extensions import db
from app.services.persistence import committing
from app.domain.errors import NotFound

TOKEN_PREFIX = "ccpb_"
DEFAULT_WINDOW_HOURS = 72


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound("No such client.")
    return client


def get_settings(client_id: int) -> ClientPostback:
    _client(client_id)
    row = db.session.get(ClientPostback, client_id)
    if row is None:
        raise NotFound("This client has no postback endpoint yet.")
    return row


def issue_token(client_id: int, window_hours: int | None = None) -> ClientPostback:
    """A new token (the old one stops working); returned once as `token`."""
    _client(client_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with committing():
        row = db.session.get(ClientPostback, client_id)
        if row is None:
            row = ClientPostback(client_id=client_id, token_hash=_hash(token),
                                 window_hours=window_hours or DEFAULT_WINDOW_HOURS)
            db.session.add(row)
        else:
            row.token_hash = _hash(token)
            if window_hours:
                row.window_hours = window_hours
    row.token_once = token
    return row


def update_settings(client_id: int, data: dict) -> ClientPostback:
    row = get_settings(client_id)
    with committing():
        if "window_hours" in data:
            row.window_hours = data["window_hours"]
    return row


def delete_settings(client_id: int) -> None:
    row = get_settings(client_id)
    with committing():
        db.session.delete(row)


def _answered_call(data: dict, client_id: int, *, since: datetime):
    """The (id, started_at) of the call the postback names (by uniqueid, else by id) that
    `client_id` answered and that ended since `since`, or None. A uniqueid is found through
    call_log_keys and the call read in its month; an id alone reads each month's primary key."""
    calls = select(CallLog.id, CallLog.started_at).where(
        CallLog.client_id == client_id, CallLog.ended_at.is_not(None), CallLog.ended_at >= since)
    if data.get("uniqueid"):
        key = db.session.execute(select(CallLogKey.call_log_id, CallLogKey.started_at).where(
            CallLogKey.uniqueid == data["uniqueid"])).first()
        call = key and db.session.execute(calls.where(
            CallLog.id == key.call_log_id, CallLog.started_at == key.started_at)).first()
        if call:
            return call
    if data.get("call_id"):
        return db.session.execute(calls.where(CallLog.id == data["call_id"])).first()
    return None


def receive(token: str, data: dict) -> dict:
    """Apply a buyer's answer; idempotent. NotFound for any token, call or time it does not
    cover (nothing learned of which)."""
    not_found = NotFound("Not found.")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise not_found
    digest = _hash(token)
    settings = db.session.scalar(select(ClientPostback).where(ClientPostback.token_hash == digest))
    if settings is None or not hmac.compare_digest(settings.token_hash, digest):
        raise not_found
    call = _answered_call(data, settings.client_id,
                          since=datetime.now(timezone.utc) - timedelta(hours=settings.window_hours))
    if call is None:
        db.session.rollback()
        raise not_found
    with committing():
        result = db.session.execute(
            text("SELECT cc_buyer_postback(:call_id, :started_at, :client_id, :converted, "
                 ":revenue)"),
            {"call_id": call.id, "started_at": call.started_at, "client_id": settings.client_id,
             "converted": data["converted"],
             "revenue": None if data.get("revenue") is None
             else Decimal(str(data["revenue"])).quantize(Decimal("0.01"))}).scalar()
    if result is None:
        raise not_found
    return result
