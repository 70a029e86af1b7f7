"""Each routing step as the one statement that performs it, and how its answer reads.

The rules live in the database functions (sql/*.sql); a step here only normalises what
Asterisk sent, names the function and decodes its row. The synchronous service (API, CLI,
simulator) and the asynchronous one (FastAGI) send exactly these statements.
"""
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.database.partitions import MONTHS_AHEAD
from app.domain.call_status import CallStatus
from app.services.bidding import BidRound, ping_round
from app.services.phone_numbers import to_e164
from app.services.routing.outcomes import (FIELD_LIMITS, CallArrival, CallEnd, RouteDecision,
                                           clean_text)

# Errors worth running the same step again for: a deadlock or a serialisation failure.
RETRYABLE_SQLSTATES = ("40P01", "40001")
RETRIES = 3
# Seconds a dialling slot is held past its dial timeout when Asterisk's live channels are not
# known: a backstop, long enough for an Asterisk that fell far behind (a Dial seen to start
# 50 s after its route under overload) to still find its slot (see README, "Slots follow the
# channel").
DIAL_HOLD_MARGIN = 300
# Expired cached bids deleted by one statement of the sweep: a short transaction, whatever the
# backlog (the sweep runs as many as it needs, each on its own).
BID_CACHE_SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, Any]
    decode: Callable[[Any], Any]
    many: bool = False  # decode gets every row (a list), not the first one


@dataclass
class Simulation:
    action: str  # "dial" or "reject"
    reason: str | None
    dial: str | None
    candidates: list[dict]


@lru_cache(maxsize=4096)
def _e164(raw: str, region: str) -> str | None:
    return to_e164(raw, region)


# What carriers and Asterisk send for a caller without a number (withheld, presentation
# restricted, or none at all): such a caller has no caller_number.
WITHHELD_CALLERS = frozenset({"anonymous", "unknown", "restricted", "private", "withheld",
                              "unavailable", "blocked", "asterisk"})


def caller_number(raw: str | None, region: str) -> str | None:
    """The caller as E.164 with the DIDs' region rules (`+14155559701`, `4155559701` and
    `14155559701` are one caller), or None for an anonymous, withheld or unknown caller, and
    for anything that is not a valid number (a caller *name*, letters: no vanity readings).
    None is never a duplicate of anybody: the repeat-caller rules skip it."""
    if not raw:
        return None
    text = raw.strip()
    if text.lower() in WITHHELD_CALLERS or any(ch.isalpha() for ch in text):
        return None
    return _e164(text, region)


def _first(row: tuple | None) -> Any:
    return row[0] if row is not None else None


def _nothing(row: tuple | None) -> None:
    return None


def _route_decision(row: tuple) -> RouteDecision | BidRound:
    action, dial, timeout, attempt, reason, bid_request = row
    if action == "bid":
        return BidRound.from_request(bid_request)
    if action == "dial":
        return RouteDecision(action="dial", dial=dial, timeout=timeout, attempt=attempt)
    return RouteDecision.reject(reason)


def _simulation(row: tuple) -> Simulation | BidRound:
    answer = row[0]
    if answer["action"] == "bid":
        return BidRound.from_request(answer["request"])
    return Simulation(answer["action"], answer["reason"], answer["dial"], answer["candidates"])


class RoutingSteps:
    """Builds the statements. `clock` (tests) fixes the time the rules read; by default the
    database's own clock is used. `rng` (tests) seeds PostgreSQL's random() for each step so a
    weighted order can be replayed."""

    def __init__(self, *, default_region: str = "US", dial_hold_margin: int = DIAL_HOLD_MARGIN,
                 rng: random.Random | None = None,
                 clock: Callable[[], datetime] | None = None,
                 allow_private_bid_targets: bool = False):
        self.default_region = default_region
        # A dialling slot is held for the dial timeout plus this margin; then, unless
        # Asterisk's live channels show its call is still there, expiry frees it.
        self.dial_hold_margin = dial_hold_margin
        self.rng = rng
        self.clock = clock
        # Bid URLs on loopback or private networks may be pinged (development and tests).
        self.allow_private_bid_targets = allow_private_bid_targets

    def _now(self) -> datetime | None:
        return self.clock() if self.clock else None

    def _seed(self) -> float | None:
        return self.rng.uniform(-1.0, 1.0) if self.rng else None

    def _number(self, raw: str | None) -> str | None:
        return _e164(raw, self.default_region) if raw else None

    def _caller(self, raw: str | None) -> str | None:
        return caller_number(raw, self.default_region)

    def route(self, arrival: CallArrival,
              bids: dict | None = None) -> Statement | RouteDecision:
        """The statement answers a RouteDecision, or for a campaign that prices by bids and
        lacks some, the BidRound to ping; `bids` are that round's answers (the route then
        decides)."""
        arrival = arrival.sanitized()
        if not arrival.uniqueid:
            return RouteDecision.reject("error")
        sql = ("SELECT * FROM cc_route(%(uniqueid)s::text, %(linkedid)s::text, %(did)s::text, "
               "%(number)s::text, %(caller_id)s::text, %(caller_number)s::text, "
               "%(now)s::timestamptz, %(margin)s::int, %(seed)s::float8")
        params = {"uniqueid": arrival.uniqueid, "linkedid": arrival.linkedid, "did": arrival.did,
                  "number": self._number(arrival.did), "caller_id": arrival.caller_id,
                  "caller_number": self._caller(arrival.caller_id),
                  "now": self._now(), "margin": self.dial_hold_margin, "seed": self._seed()}
        if bids is not None:
            sql += ", %(bids)s::jsonb"
            params["bids"] = json.dumps(bids)
        return Statement(sql + ")", params, _route_decision)

    def ping_round(self, bid_round: BidRound, arrival: CallArrival,
                   started_at: float | None = None):
        """The pings of a route's bid round (a coroutine); see bidding.ping_round."""
        arrival = arrival.sanitized()
        return ping_round(bid_round, did=self._number(arrival.did),
                          caller_number=self._caller(arrival.caller_id),
                          allow_private=self.allow_private_bid_targets, started_at=started_at)

    def test_ping_round(self, bid_round: BidRound, caller_id: str | None):
        """The simulator's pings (a coroutine): marked as tests, no DID."""
        return ping_round(bid_round, did=None,
                          caller_number=self._caller(clean_text(caller_id,
                                                                FIELD_LIMITS["caller_id"])),
                          test=True, allow_private=self.allow_private_bid_targets)

    def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> Statement:
        dial_status = clean_text(dial_status, FIELD_LIMITS["dial_status"]) or "UNKNOWN"
        return Statement(
            "SELECT cc_attempt_result(%(uniqueid)s::text, %(attempt)s::int, %(status)s::text)",
            {"uniqueid": uniqueid, "attempt": attempt, "status": dial_status}, _nothing)

    def answered(self, uniqueid: str, attempt: int) -> Statement:
        return Statement("SELECT cc_answered(%(uniqueid)s::text, %(attempt)s::int)",
                         {"uniqueid": uniqueid, "attempt": attempt}, _nothing)

    def hangup(self, end: CallEnd,
               unanswered_status: str = CallStatus.ABANDONED) -> Statement | None:
        end = end.sanitized()
        if not end.uniqueid:
            return None
        return Statement(
            "SELECT cc_hangup(%(uniqueid)s::text, %(linkedid)s::text, %(did)s::text, "
            "%(number)s::text, %(caller_id)s::text, %(caller_number)s::text, "
            "%(dial_status)s::text, %(attempt)s::int, %(cause)s::int, %(billsec)s::int, "
            "%(unanswered)s::text, %(now)s::timestamptz)",
            {"uniqueid": end.uniqueid, "linkedid": end.linkedid, "did": end.did,
             "number": self._number(end.did), "caller_id": end.caller_id,
             "caller_number": self._caller(end.caller_id),
             "dial_status": end.dial_status, "attempt": end.attempt, "cause": end.hangup_cause,
             "billsec": end.billsec, "unanswered": unanswered_status, "now": self._now()},
            _first)

    def simulate(self, campaign_id: int, caller_id: str | None, at: datetime | None,
                 bids: dict | None = None) -> Statement:
        """Answers a Simulation, or the BidRound of test pings to make first (then `bids`)."""
        return Statement(
            "SELECT cc_simulate_bids(%(campaign_id)s::int, %(caller_number)s::text, "
            "coalesce(%(at)s::timestamptz, now()), %(seed)s::float8, %(bids)s::jsonb)",
            {"campaign_id": campaign_id,
             "caller_number": self._caller(clean_text(caller_id, FIELD_LIMITS["caller_id"])),
             "at": at or self._now(), "seed": self._seed(),
             "bids": None if bids is None else json.dumps(bids)},
            _simulation)

    def expire(self, live_uniqueids: Iterable[str] | None = None) -> Statement:
        live = None if live_uniqueids is None else _live(live_uniqueids)
        return Statement("SELECT cc_expire(%(live)s::text[])", {"live": live}, _first)

    def ensure_partitions(self, months_ahead: int = MONTHS_AHEAD) -> Statement:
        """The monthly partitions of call_logs, call_attempts and cdr from the current month to
        `months_ahead` later that are missing; returns how many it made."""
        return Statement("SELECT partitions_ensure(%(ahead)s::int)", {"ahead": months_ahead}, _first)

    def sweep_bid_cache(self, batch: int = BID_CACHE_SWEEP_BATCH) -> Statement:
        """Delete up to `batch` cached bids that have expired; returns how many it deleted.
        Rows a call is writing are skipped (SKIP LOCKED: the sweep never waits on a call, and a
        call waits on the sweep for one short batch at most); one that call renewed is kept."""
        return Statement(
            "WITH doomed AS (SELECT setting_id, caller_number FROM bid_cache "
            "WHERE expires_at <= coalesce(%(now)s::timestamptz, now()) "
            "ORDER BY expires_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED), "
            "gone AS (DELETE FROM bid_cache b USING doomed d "
            "WHERE b.setting_id = d.setting_id AND b.caller_number = d.caller_number "
            "RETURNING 1) SELECT count(*) FROM gone",
            {"now": self._now(), "batch": batch}, _first)

    def vanished_calls(self, live_uniqueids: Iterable[str], grace_seconds: int) -> Statement:
        return Statement("SELECT array(SELECT cc_vanished_calls(%(live)s::text[], %(grace)s::int))",
                         {"live": _live(live_uniqueids), "grace": grace_seconds},
                         lambda row: list(row[0]))

    # -- Asterisk's CDRs (not a FastAGI step: the reconciliation, sql/50_cdr_reconcile.sql) --
    def cdr_suspects(self, since: datetime, until: datetime | None = None) -> Statement:
        """The uniqueids whose CDRs ended in [since, until) and disagree with their call log."""
        return Statement(
            "SELECT array(SELECT cc_cdr_suspects(%(since)s::timestamptz, %(until)s::timestamptz))",
            {"since": since, "until": until}, lambda row: list(row[0]))

    def cdr_rows(self, uniqueids: list[str]) -> Statement:
        """Every CDR of these calls, as mappings of column name to value."""
        columns = ", ".join(f'"{name}"' for name in CDR_READ_COLUMNS)
        return Statement(
            f"SELECT {columns} FROM cdr WHERE uniqueid = ANY(%(ids)s::text[])",
            {"ids": list(uniqueids)},
            lambda rows: [dict(zip(CDR_READ_COLUMNS, row)) for row in rows], many=True)

    def reconcile_cdr_call(self, call) -> Statement:
        """Apply what one call's CDRs say (a cdr_service.CdrCall) to its log and counters."""
        return Statement("SELECT cc_reconcile_cdr(%(call)s::jsonb)",
                         {"call": json.dumps(self.cdr_facts(call))}, _first)

    def cdr_facts(self, call) -> dict:
        """A CdrCall as cc_reconcile_cdr reads it: numbers normalised like the live steps',
        every Dial attempt numbered (cc_attempt, or the U() option in lastdata; a Dial that
        carries neither, such as the overflow, is the next number after the ones before it)."""
        attempts, last = [], 0
        answered_attempt = None
        for attempt in call.attempts:
            number = attempt.attempt if attempt.attempt is not None else last + 1
            last = max(last, number)
            if attempt.answered and answered_attempt is None:
                answered_attempt = number
            attempts.append({"attempt": number, "client": attempt.client_identifier,
                             "disposition": attempt.disposition,
                             "started_at": _iso(attempt.started_at),
                             "ended_at": _iso(attempt.ended_at), "duration": attempt.duration})
        did = clean_text(call.dialled, FIELD_LIMITS["did"])
        caller = clean_text(call.caller, FIELD_LIMITS["caller_id"])
        return {"uniqueid": call.uniqueid, "linkedid": call.linkedid, "did": did,
                "number": self._number(did), "caller_id": caller,
                "caller_number": self._caller(caller), "started_at": _iso(call.started_at),
                "ended_at": _iso(call.ended_at), "answered_at": _iso(call.answered_at),
                "attempt": answered_attempt,
                "client": call.client_identifier, "billsec": call.billsec,
                "duration": call.duration, "cdrs": call.rows, "attempts": attempts}


# The CDR columns the reconciliation reads (app/services/cdr_service.py interprets them).
CDR_READ_COLUMNS = ("uniqueid", "linkedid", "src", "dst", "dstchannel", "lastdata", "start",
                    "answer", "end", "duration", "billsec", "disposition", "sequence",
                    "cc_attempt")


def _live(uniqueids: Iterable[str]) -> list[str]:
    return sorted({u.strip() for u in uniqueids if u and u.strip()})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
