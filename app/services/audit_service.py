"""The audit trail: who changed what, and when.

Every ORM change to an audited model is recorded by one `before_flush` listener, inside the
same transaction as the change itself, so a change and its audit line commit or roll back
together and no service can forget to log. Writes that do not go through the ORM (the PJSIP
rows) call `record` themselves. Secrets are never stored, only the fact that they changed.
"""
from datetime import date, datetime
from decimal import Decimal

from collections.abc import Callable

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.database.models import (AuditEvent, Campaign, CampaignClientSetting, CampaignDid,
                                 Carrier, Client, Did, User)
from app.extensions import db
from app.services.pagination import Page, paginate

AUDITED = {User: "user", Client: "client", Carrier: "carrier", Did: "did", Campaign: "campaign",
           CampaignDid: "campaign_did", CampaignClientSetting: "routing_setting"}
# Changes recorded in SQL, in the transaction that makes them: the reconciliation of call logs
# with Asterisk's CDRs (app/services/routing/sql/50_cdr_reconcile.sql) writes one line per call
# log it creates, ends or corrects (action "reconcile", changes {field: [old, new]}, its
# attempts and the counters it moved), with no actor (the system).
SQL_AUDITED = {"call_log": "reconcile"}
# Recorded only as having changed (or, in a snapshot, as being set): a client's bid secret signs
# its bid pings, and whoever reads the trail must not be able to sign them.
SECRET_FIELDS = {"password", "password_hash", "session_version", "bid_secret"}
# Counters the routing engine moves on every call: not configuration changes.
NOISE_FIELDS = {"in_flight", "current_total_calls", "updated_at", "created_at"}
MASK = "(changed)"


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# Who is acting, as the adapters know it: create_app installs the logged-in user's id
# (app.access.acting_user_id); a service knows nothing of logins. None: the command line or
# the system.
_actor: Callable[[], int | None] = lambda: None


def _actor_id() -> int | None:
    return _actor()


def _entity_id(obj) -> str:
    identity = inspect(obj).identity or tuple(
        getattr(obj, column.key) for column in inspect(type(obj)).primary_key)
    return ":".join(str(part) for part in identity)


def _snapshot(obj) -> dict:
    values = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in NOISE_FIELDS:
            continue
        value = getattr(obj, attr.key)
        values[attr.key] = (MASK if attr.key in SECRET_FIELDS and value is not None
                            else _plain(value))
    return values


def _changes(obj) -> dict:
    state = inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        if attr.key in NOISE_FIELDS:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[attr.key] = MASK if attr.key in SECRET_FIELDS else [_plain(old), _plain(new)]
    return changes


def record(action: str, entity_type: str, entity_id: str, changes: dict) -> None:
    """Log a change made outside the ORM (it commits with the caller's transaction)."""
    db.session.add(AuditEvent(actor_id=_actor_id(), action=action, entity_type=entity_type,
                              entity_id=str(entity_id)[:80], changes=changes))


def _audit_flush(session: Session, flush_context, instances) -> None:
    events = []
    for obj in session.new:
        if type(obj) in AUDITED:
            events.append(("create", obj, None))
    for obj in session.dirty:
        if type(obj) in AUDITED and session.is_modified(obj, include_collections=False):
            changes = _changes(obj)
            if changes:
                events.append(("update", obj, changes))
    for obj in session.deleted:
        if type(obj) in AUDITED:
            events.append(("delete", obj, None))
    if not events:
        return
    actor = _actor_id()
    pending = []
    for action, obj, changes in events:
        pending.append((action, obj, changes if changes is not None else _snapshot(obj)))
    # New rows get their ids during this flush: record them once it has run.
    session.info.setdefault("audit_pending", []).extend((actor, *item) for item in pending)


def _audit_after_flush(session: Session, flush_context) -> None:
    pending = session.info.pop("audit_pending", [])
    for actor, action, obj, changes in pending:
        if action == "create":
            changes = _snapshot(obj)
        session.add(AuditEvent(actor_id=actor, action=action, entity_type=AUDITED[type(obj)],
                               entity_id=_entity_id(obj)[:80], changes=changes))


def install(actor: Callable[[], int | None]) -> None:
    """Attach the listeners once, and say how to know who acts (create_app calls this)."""
    global _actor
    _actor = actor
    if not event.contains(Session, "before_flush", _audit_flush):
        event.listen(Session, "before_flush", _audit_flush)
        event.listen(Session, "after_flush_postexec", _audit_after_flush)


def list_events(*, entity_type=None, entity_id=None, actor_id=None, page=1, per_page=50) -> Page:
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    if entity_type:
        statement = statement.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        statement = statement.where(AuditEvent.entity_id == entity_id)
    if actor_id:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    return paginate(statement, page, per_page)
