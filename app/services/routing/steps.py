"""Each routing step as the one statement that performs it, and how its answer reads.

The rules live in the database functions (sql/*.sql); a step here only normalises what
Asterisk sent, names the function and decodes its row. The synchronous service (API, CLI,
simulator) and the asynchronous one (FastAGI) send exactly these statements.
"""
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.services.phone_numbers import to_e164
from app.services.routing.outcomes import (FIELD_LIMITS, CallArrival, CallEnd, RouteDecision,
                                           clean_text)

# Errors worth running the same step again for: a deadlock or a serialisation failure.
RETRYABLE_SQLSTATES = ("40P01", "40001")
RETRIES = 3


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, Any]
    decode: Callable[[tuple | None], Any]


@dataclass
class Simulation:
    action: str  # "dial" or "reject"
    reason: str | None
    dial: str | None
    candidates: list[dict]


@lru_cache(maxsize=4096)
def _e164(raw: str, region: str) -> str | None:
    return to_e164(raw, region)


def _first(row: tuple | None) -> Any:
    return row[0] if row is not None else None


def _nothing(row: tuple | None) -> None:
    return None


def _route_decision(row: tuple) -> RouteDecision:
    action, dial, timeout, attempt, reason = row
    if action == "dial":
        return RouteDecision(action="dial", dial=dial, timeout=timeout, attempt=attempt)
    return RouteDecision.reject(reason)


def _simulation(row: tuple) -> Simulation:
    answer = row[0]
    return Simulation(answer["action"], answer["reason"], answer["dial"], answer["candidates"])


class RoutingSteps:
    """Builds the statements. `clock` (tests) fixes the time the rules read; by default the
    database's own clock is used. `rng` (tests) seeds PostgreSQL's random() for each step so a
    weighted order can be replayed."""

    def __init__(self, *, default_region: str = "US", dial_hold_margin: int = 30,
                 rng: random.Random | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.default_region = default_region
        # A dialling slot is held for the dial timeout plus this margin; then expiry frees it.
        self.dial_hold_margin = dial_hold_margin
        self.rng = rng
        self.clock = clock

    def _now(self) -> datetime | None:
        return self.clock() if self.clock else None

    def _seed(self) -> float | None:
        return self.rng.uniform(-1.0, 1.0) if self.rng else None

    def _number(self, raw: str | None) -> str | None:
        return _e164(raw, self.default_region) if raw else None

    def route(self, arrival: CallArrival) -> Statement | RouteDecision:
        arrival = arrival.sanitized()
        if not arrival.uniqueid:
            return RouteDecision.reject("error")
        return Statement(
            "SELECT * FROM cc_route(%(uniqueid)s::text, %(linkedid)s::text, %(did)s::text, "
            "%(number)s::text, %(caller_id)s::text, %(now)s::timestamptz, %(margin)s::int, "
            "%(seed)s::float8)",
            {"uniqueid": arrival.uniqueid, "linkedid": arrival.linkedid, "did": arrival.did,
             "number": self._number(arrival.did), "caller_id": arrival.caller_id,
             "now": self._now(), "margin": self.dial_hold_margin, "seed": self._seed()},
            _route_decision)

    def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> Statement:
        dial_status = clean_text(dial_status, FIELD_LIMITS["dial_status"]) or "UNKNOWN"
        return Statement(
            "SELECT cc_attempt_result(%(uniqueid)s::text, %(attempt)s::int, %(status)s::text)",
            {"uniqueid": uniqueid, "attempt": attempt, "status": dial_status}, _nothing)

    def answered(self, uniqueid: str, attempt: int) -> Statement:
        return Statement("SELECT cc_answered(%(uniqueid)s::text, %(attempt)s::int)",
                         {"uniqueid": uniqueid, "attempt": attempt}, _nothing)

    def hangup(self, end: CallEnd, unanswered_status: str = "abandoned") -> Statement | None:
        end = end.sanitized()
        if not end.uniqueid:
            return None
        return Statement(
            "SELECT cc_hangup(%(uniqueid)s::text, %(linkedid)s::text, %(did)s::text, "
            "%(number)s::text, %(caller_id)s::text, %(dial_status)s::text, %(attempt)s::int, "
            "%(cause)s::int, %(billsec)s::int, %(unanswered)s::text, %(now)s::timestamptz)",
            {"uniqueid": end.uniqueid, "linkedid": end.linkedid, "did": end.did,
             "number": self._number(end.did), "caller_id": end.caller_id,
             "dial_status": end.dial_status, "attempt": end.attempt, "cause": end.hangup_cause,
             "billsec": end.billsec, "unanswered": unanswered_status, "now": self._now()},
            _first)

    def simulate(self, campaign_id: int, caller_id: str | None, at: datetime | None) -> Statement:
        return Statement(
            "SELECT cc_simulate(%(campaign_id)s::int, %(caller_id)s::text, "
            "coalesce(%(at)s::timestamptz, now()), %(seed)s::float8)",
            {"campaign_id": campaign_id,
             "caller_id": clean_text(caller_id, FIELD_LIMITS["caller_id"]),
             "at": at or self._now(), "seed": self._seed()},
            _simulation)

    def expire(self) -> Statement:
        return Statement("SELECT cc_expire()", {}, _first)

    def vanished_calls(self, live_uniqueids: Iterable[str], grace_seconds: int) -> Statement:
        live = sorted({u.strip() for u in live_uniqueids if u and u.strip()})
        return Statement("SELECT array(SELECT cc_vanished_calls(%(live)s::text[], %(grace)s::int))",
                         {"live": live, "grace": grace_seconds}, lambda row: list(row[0]))
