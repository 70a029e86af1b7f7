"""The routing engine. FastAGI handlers and the internal HTTP API both call these methods.

It works on a plain SQLAlchemy Engine with Core statements (statements.py), one short
transaction per step, so it runs the same in a Flask request, a FastAGI worker thread or a CLI
command, in as many processes as needed over one database.
"""
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from app.services.phone_numbers import to_e164
from app.services.routing import planning
from app.services.routing import statements as sql
from app.services.routing.outcomes import (FIELD_LIMITS, CallArrival, CallEnd, RouteDecision,
                                           clean_text)

log = logging.getLogger(__name__)

FINAL_REJECTIONS = ("no_route", "all_capped", "all_failed", "error", "duplicate", "closed")
DEADLOCK_RETRIES = 3


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Simulation:
    action: str  # "dial" or "reject"
    reason: str | None
    dial: str | None
    candidates: list[dict]


class RoutingService:
    def __init__(self, engine: Engine, *, default_region: str = "US",
                 dial_hold_margin: int = 30, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.default_region = default_region
        # A dialling slot is held for the dial timeout plus this margin; then expiry frees it.
        self.dial_hold_margin = dial_hold_margin
        self.rng = rng or random.Random()
        self.clock = clock  # periods, schedules and duplicate windows are read at this time

    # -- route -------------------------------------------------------------------------------
    def route(self, arrival: CallArrival) -> RouteDecision:
        """Open the call on first sight, then reserve the next admissible candidate."""
        arrival = arrival.sanitized()
        if not arrival.uniqueid:
            return RouteDecision.reject("error")
        number = to_e164(arrival.did or "", self.default_region)
        opened = self._in_transaction(lambda conn: self._open_and_plan(conn, arrival, number))
        if isinstance(opened, RouteDecision):
            return opened
        call_id, plan, attempts_so_far, now = opened
        attempt = attempts_so_far + 1
        # Each candidate is tried in a transaction of its own: it holds only that client's and
        # campaign's locks (in the global order) and gives them back before the next one.
        for candidate in plan.admissible():
            if self._in_transaction(lambda conn: self._try(conn, plan, candidate, arrival.uniqueid,
                                                           call_id, attempt, now)):
                return RouteDecision(action="dial", dial=f"PJSIP/{candidate.client}",
                                     timeout=candidate.dial_timeout, attempt=attempt)
        reason = plan.reason_when_nothing_admitted(attempts_so_far)

        def reject(conn: Connection) -> RouteDecision:
            self._record_round(conn, arrival.uniqueid, plan.round(attempt, now, reason))
            return self._reject(conn, call_id, reason)
        return self._in_transaction(reject)

    def _open_and_plan(self, conn: Connection, arrival: CallArrival, number: str | None):
        """Open the call (first sight) and plan this round; a RouteDecision if it ends here."""
        now = self.clock()
        call = conn.execute(sql.OPEN_CALL, {
            "uniqueid": arrival.uniqueid, "linkedid": arrival.linkedid,
            "did": number or arrival.did, "caller_id": arrival.caller_id,
        }).one()
        if call.ended_at is not None:
            return RouteDecision.reject(call.status if call.status in FINAL_REJECTIONS else "error")
        if call.status in FINAL_REJECTIONS:
            return RouteDecision.reject(call.status)
        campaign_id, sticky_client_id = call.campaign_id, None
        if call.is_new or campaign_id is None:
            campaign = conn.execute(sql.FIND_CAMPAIGN_FOR_DID, {"number": number}).first() \
                if number else None
            if campaign is None:
                return self._reject(conn, call.id, "no_route")
            campaign_id = campaign.campaign_id
            conn.execute(sql.ATTACH_CAMPAIGN, {"campaign_id": campaign_id,
                                               "seller_id": campaign.seller_id, "call_id": call.id})
            rejection, sticky_client_id = planning.duplicate_check(
                conn, campaign_id=campaign_id, uniqueid=arrival.uniqueid,
                caller_id=arrival.caller_id, now=now)
            if rejection:
                self._record_round(conn, arrival.uniqueid, planning.Plan().round(1, now, rejection))
                return self._reject(conn, call.id, rejection)
        plan = planning.plan(conn, campaign_id=campaign_id, call_id=call.id, now=now,
                             rng=self.rng, sticky_client_id=sticky_client_id)
        attempts_so_far = conn.scalar(sql.COUNT_ATTEMPTS, {"call_id": call.id})
        return call.id, plan, attempts_so_far, now

    def _try(self, conn: Connection, plan: planning.Plan, candidate: planning.Candidate,
             uniqueid: str, call_id: int, attempt: int, now: datetime) -> bool:
        """Reserve one candidate, all caps at once; on success the round is recorded with it."""
        conn.execute(sql.LOCK_CANDIDATES, {"setting_ids": [candidate.setting_id]})
        admitted = conn.execute(sql.RESERVE, {
            "setting_id": candidate.setting_id, "uniqueid": uniqueid, "attempt": attempt,
            "call_id": call_id, "now": now,
            "hold_seconds": candidate.dial_timeout + self.dial_hold_margin,
        }).first()
        if admitted is not None:
            candidate.verdict = planning.DIALLED
            self._record_round(conn, uniqueid, plan.round(attempt, now, "dial"))
            return True
        # Full a moment after planning: another call took the last slot. Say which cap.
        cap = conn.scalar(sql.CAP_HIT_NOW, {"setting_id": candidate.setting_id, "now": now})
        candidate.verdict = "inactive" if cap == "inactive" else f"capped:{cap or 'race'}"
        return False

    def _reject(self, conn: Connection, call_id: int, reason: str) -> RouteDecision:
        conn.execute(sql.MARK_REJECTED, {"call_id": call_id, "reason": reason})
        return RouteDecision.reject(reason)

    def _record_round(self, conn: Connection, uniqueid: str, round_: dict) -> None:
        conn.execute(sql.APPEND_ROUND, {"uniqueid": uniqueid, "round": planning.as_json(round_)})

    # -- dry run -----------------------------------------------------------------------------
    def simulate(self, campaign_id: int, *, caller_id: str | None = None,
                 at: datetime | None = None) -> Simulation:
        """Where would a call from `caller_id` to this campaign go at `at`? The same planning
        as a live call, reading the live counters, reserving nothing."""
        now = at or self.clock()
        caller_id = clean_text(caller_id, FIELD_LIMITS["caller_id"])
        with self.engine.connect() as conn:
            rejection, sticky = planning.duplicate_check(
                conn, campaign_id=campaign_id, uniqueid="", caller_id=caller_id, now=now)
            if rejection:
                return Simulation("reject", rejection, None, [])
            plan = planning.plan(conn, campaign_id=campaign_id, call_id=None, now=now,
                                 rng=self.rng, sticky_client_id=sticky)
            conn.rollback()
        chosen = next(iter(plan.admissible()), None)
        if chosen is None:
            return Simulation("reject", plan.reason_when_nothing_admitted(0), None,
                              [c.as_json() for c in plan.candidates])
        chosen.verdict = planning.WOULD_DIAL
        return Simulation("dial", None, f"PJSIP/{chosen.client}",
                          [c.as_json() for c in plan.candidates])

    # -- attempt results ---------------------------------------------------------------------
    def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> None:
        """A Dial() returned. Anything but ANSWER frees the slot for the next candidate."""
        dial_status = clean_text(dial_status, FIELD_LIMITS["dial_status"]) or "UNKNOWN"

        def step(conn: Connection) -> None:
            conn.execute(sql.END_ATTEMPT, {"uniqueid": uniqueid, "attempt": attempt,
                                           "dial_status": dial_status})
            if dial_status == "ANSWER":
                conn.execute(sql.MARK_ANSWERED, {"uniqueid": uniqueid, "attempt": attempt})
                return
            conn.execute(sql.LOCK_ATTEMPT, {"uniqueid": uniqueid, "attempt": attempt})
            conn.execute(sql.RELEASE_ATTEMPT, {"uniqueid": uniqueid, "attempt": attempt})
            self._mark_failed(conn, uniqueid, attempt, dial_status)
        self._in_transaction(step)

    def _mark_failed(self, conn: Connection, uniqueid: str, attempt: int, dial_status: str) -> None:
        decision = conn.scalar(sql.READ_DECISION, {"uniqueid": uniqueid})
        for round_ in decision or []:
            if round_.get("attempt") == attempt:
                for candidate in round_["candidates"]:
                    if candidate["verdict"] == planning.DIALLED:
                        candidate["verdict"] = f"failed:{dial_status}"
                conn.execute(sql.WRITE_DECISION, {"uniqueid": uniqueid,
                                                  "decision": planning.as_json(decision)})
                return

    def answered(self, uniqueid: str, attempt: int) -> None:
        """The callee picked up: hold the slot until hangup instead of letting it expire."""
        self._in_transaction(lambda conn: conn.execute(
            sql.MARK_ANSWERED, {"uniqueid": uniqueid, "attempt": attempt}))

    # -- hangup ------------------------------------------------------------------------------
    def hangup(self, end: CallEnd, *, unanswered_status: str = "abandoned") -> str | None:
        """End the call: count it once if answered, release every slot it holds.

        Returns the call's final status, or None when it had already ended (a duplicate).
        """
        end = end.sanitized()
        if not end.uniqueid:
            return None
        return self._in_transaction(lambda conn: self._hangup(conn, end, unanswered_status))

    def _hangup(self, conn: Connection, end: CallEnd, unanswered_status: str) -> str | None:
        did = to_e164(end.did or "", self.default_region) or end.did
        conn.execute(sql.OPEN_ENDED_CALL, {"uniqueid": end.uniqueid, "linkedid": end.linkedid,
                                           "did": did, "caller_id": end.caller_id})
        conn.execute(sql.LOCK_CALL, {"uniqueid": end.uniqueid})
        answered_attempt = end.answered_attempt or conn.scalar(
            sql.ANSWERED_RESERVATION, {"uniqueid": end.uniqueid})
        conn.execute(sql.CLOSE_OPEN_ATTEMPTS, {"uniqueid": end.uniqueid,
                                               "answered_attempt": answered_attempt,
                                               "dial_status": end.dial_status})
        finished = conn.execute(sql.FINISH_CALL, {
            "uniqueid": end.uniqueid, "answered_attempt": answered_attempt,
            "billsec": end.billsec, "hangup_cause": end.hangup_cause,
            "unanswered_status": unanswered_status,
        }).first()
        if finished is not None and finished.answered_setting_id is not None:
            conn.execute(sql.COUNT_DELIVERED, {"setting_id": finished.answered_setting_id,
                                               "converted": finished.converted,
                                               "now": self.clock()})
        conn.execute(sql.RELEASE_CALL, {"uniqueid": end.uniqueid})
        return finished.status if finished is not None else None

    # -- housekeeping ------------------------------------------------------------------------
    def expire(self) -> int:
        """Free dialling slots whose hold ran out (their attempt never reported back)."""
        def step(conn: Connection) -> int:
            conn.execute(sql.LOCK_EXPIRED)
            return conn.scalar(sql.EXPIRE_DIALING)
        freed = self._in_transaction(step)
        if freed:
            log.warning("expired %d dialling reservation(s)", freed)
        return freed

    def reconcile(self, live_uniqueids: Iterable[str], grace_seconds: int = 60) -> list[str]:
        """End every call older than the grace period that Asterisk no longer has."""
        live = sorted({u.strip() for u in live_uniqueids if u and u.strip()})
        vanished = self._in_transaction(lambda conn: conn.scalars(
            sql.VANISHED_CALLS, {"live": live, "grace_seconds": grace_seconds}).all())
        for uniqueid in vanished:
            self.hangup(CallEnd(uniqueid=uniqueid), unanswered_status="abandoned")
        if vanished:
            log.warning("reconcile ended %d vanished call(s)", len(vanished))
        return list(vanished)

    # -- plumbing ----------------------------------------------------------------------------
    def _in_transaction(self, work: Callable[[Connection], object]):
        for attempt in range(1, DEADLOCK_RETRIES + 1):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except DBAPIError as error:
                # Serialisation failures are safe to run again; with the advisory lock order
                # deadlocks should not happen, but a retry costs nothing if one does.
                sqlstate = getattr(error.orig, "sqlstate", None)
                if sqlstate not in ("40P01", "40001") or attempt == DEADLOCK_RETRIES:
                    raise
                time.sleep(0.005 * attempt)
