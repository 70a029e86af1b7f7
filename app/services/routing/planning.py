"""Deciding, for one routing round, what each candidate's verdict is and in which order the
admissible ones are tried. Live routing and the dry-run simulator both use `plan` — the
simulator just stops before reserving anything."""
import json
import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from app.services.routing import statements as sql
from app.services.routing.candidates import failover_order
from app.services.routing.schedule import is_open

DIALLED, STANDBY, WOULD_DIAL = "dialled", "standby", "would_dial"


@dataclass
class Candidate:
    setting_id: int
    client_id: int
    client: str
    priority: int
    weight: int
    verdict: str | None = None  # None: admissible, not yet tried
    dial_timeout: int = 30
    sticky: bool = False

    @property
    def forwarding_priority(self) -> int:  # what failover_order sorts by
        return self.priority

    def as_json(self) -> dict:
        entry = {"setting_id": self.setting_id, "client_id": self.client_id,
                 "client": self.client, "priority": self.priority, "weight": self.weight,
                 "verdict": self.verdict or STANDBY}
        if self.sticky:
            entry["sticky"] = True
        return entry


@dataclass
class Plan:
    candidates: list[Candidate] = field(default_factory=list)
    rejection: str | None = None  # set when the call is refused before any candidate
    sticky_client_id: int | None = None

    def admissible(self) -> list[Candidate]:
        return [c for c in self.candidates if c.verdict is None]

    def round(self, attempt: int, now: datetime, outcome: str) -> dict:
        entry = {"attempt": attempt, "at": now.isoformat(), "outcome": outcome,
                 "candidates": [c.as_json() for c in self.candidates]}
        if self.sticky_client_id is not None:
            entry["sticky_client_id"] = self.sticky_client_id
        return entry

    def reason_when_nothing_admitted(self, attempts_so_far: int) -> str:
        verdicts = [c.verdict or "" for c in self.candidates]
        if attempts_so_far:
            return "all_failed"
        if any(v.startswith("capped:") for v in verdicts):
            return "all_capped"
        if "closed" in verdicts:
            return "closed"
        return "no_route"


def duplicate_check(conn: Connection, *, campaign_id: int, uniqueid: str, caller_id: str | None,
                    now: datetime) -> tuple[str | None, int | None]:
    """(rejection, sticky client id) for this caller's first routing round."""
    if not caller_id or caller_id.lower() in ("anonymous", "unknown", "restricted"):
        return None, None
    rules = conn.execute(sql.CAMPAIGN_RULES, {"campaign_id": campaign_id}).one()
    params = {"campaign_id": campaign_id, "caller_id": caller_id, "uniqueid": uniqueid, "now": now}
    if rules.reject_concurrent_duplicate and conn.execute(sql.CONCURRENT_DUPLICATE, params).first():
        return "duplicate", None
    if not rules.duplicate_window_hours or rules.duplicate_action == "allow":
        return None, None
    recent = conn.execute(sql.RECENT_CALL,
                          {**params, "window_hours": rules.duplicate_window_hours}).first()
    if recent is None:
        return None, None
    if rules.duplicate_action == "reject":
        return "duplicate", None
    if recent.status == "answered" and recent.client_id is not None:
        return None, recent.client_id  # sticky
    return None, None


def plan(conn: Connection, *, campaign_id: int, call_id: int | None, now: datetime,
         rng: random.Random, sticky_client_id: int | None = None) -> Plan:
    rows = conn.execute(sql.CANDIDATES, {"campaign_id": campaign_id, "call_id": call_id,
                                         "now": now}).all()
    candidates = []
    for row in rows:
        if row.attempted:
            continue  # reported in the round that dialled it
        candidate = Candidate(setting_id=row.setting_id, client_id=row.client_id,
                              client=row.client_identifier, priority=row.forwarding_priority,
                              weight=row.weight, dial_timeout=row.dial_timeout,
                              sticky=row.client_id == sticky_client_id)
        candidate.verdict = _verdict(row, now)
        candidates.append(candidate)
    weighted = failover_order([c for c in candidates if c.weight > 0], rng)
    ordered = weighted + [c for c in candidates if c.weight <= 0]
    ordered.sort(key=lambda c: not c.sticky)  # stable: the sticky client first, rest unchanged
    return Plan(candidates=ordered, sticky_client_id=sticky_client_id)


def _verdict(row, now: datetime) -> str | None:
    if row.link_status != "active" or row.client_status != "active":
        return "inactive"
    if row.weight <= 0:
        return "weight 0"
    if not row.has_endpoint:
        return "no_endpoint"
    if not is_open(row.schedule, row.closures, row.timezone, now):
        return "closed"
    if row.capped_by:
        return f"capped:{row.capped_by}"
    return None


def as_json(value) -> str:
    return json.dumps(value, default=str)
