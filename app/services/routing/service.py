"""The routing engine. FastAGI handlers and the internal HTTP API both call these methods.

It works on a plain SQLAlchemy Engine with Core statements (statements.py), one short
transaction per step, so it runs the same in a Flask request, a FastAGI worker thread or a CLI
command, in as many processes as needed over one database.
"""
import logging
import random
import time
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from app.services.phone_numbers import to_e164
from app.services.routing import statements as sql
from app.services.routing.candidates import failover_order
from app.services.routing.outcomes import (FIELD_LIMITS, CallArrival, CallEnd, RouteDecision,
                                           clean_text)

log = logging.getLogger(__name__)

FINAL_REJECTIONS = ("no_route", "all_capped", "all_failed", "error")
DEADLOCK_RETRIES = 3


class RoutingService:
    def __init__(self, engine: Engine, *, default_region: str = "US",
                 dial_hold_margin: int = 30, rng: random.Random | None = None):
        self.engine = engine
        self.default_region = default_region
        # A dialling slot is held for the dial timeout plus this margin; then expiry frees it.
        self.dial_hold_margin = dial_hold_margin
        self.rng = rng or random.Random()

    # -- route -------------------------------------------------------------------------------
    def route(self, arrival: CallArrival) -> RouteDecision:
        """Open the call on first sight, then reserve the next admissible candidate."""
        arrival = arrival.sanitized()
        if not arrival.uniqueid:
            return RouteDecision.reject("error")
        number = to_e164(arrival.did or "", self.default_region)
        return self._in_transaction(lambda conn: self._route(conn, arrival, number))

    def _route(self, conn: Connection, arrival: CallArrival, number: str | None) -> RouteDecision:
        call = conn.execute(sql.OPEN_CALL, {
            "uniqueid": arrival.uniqueid, "linkedid": arrival.linkedid,
            "did": number or arrival.did, "caller_id": arrival.caller_id,
        }).one()
        if call.ended_at is not None:
            return RouteDecision.reject(call.status if call.status in FINAL_REJECTIONS else "error")
        if call.status in FINAL_REJECTIONS:
            return RouteDecision.reject(call.status)
        campaign_id = call.campaign_id
        if call.is_new or campaign_id is None:
            campaign = conn.execute(sql.FIND_CAMPAIGN_FOR_DID, {"number": number}).first() \
                if number else None
            if campaign is None:
                return self._reject(conn, call.id, "no_route")
            campaign_id = campaign.campaign_id
            conn.execute(sql.ATTACH_CAMPAIGN, {"campaign_id": campaign_id,
                                               "seller_id": campaign.seller_id, "call_id": call.id})

        candidates = conn.execute(sql.CANDIDATES, {"campaign_id": campaign_id,
                                                   "call_id": call.id}).all()
        attempts_so_far = conn.scalar(sql.COUNT_ATTEMPTS, {"call_id": call.id})
        if not candidates:
            return self._reject(conn, call.id, "all_failed" if attempts_so_far else "no_route")
        attempt = attempts_so_far + 1
        for candidate in failover_order(candidates, self.rng):
            admitted = conn.execute(sql.RESERVE, {
                "setting_id": candidate.setting_id, "uniqueid": arrival.uniqueid,
                "attempt": attempt, "call_id": call.id,
                "hold_seconds": candidate.dial_timeout + self.dial_hold_margin,
            }).first()
            if admitted is not None:
                return RouteDecision(action="dial", dial=f"PJSIP/{candidate.client_identifier}",
                                     timeout=candidate.dial_timeout, attempt=attempt)
        return self._reject(conn, call.id, "all_failed" if attempts_so_far else "all_capped")

    def _reject(self, conn: Connection, call_id: int, reason: str) -> RouteDecision:
        conn.execute(sql.MARK_REJECTED, {"call_id": call_id, "reason": reason})
        return RouteDecision.reject(reason)

    # -- attempt results ---------------------------------------------------------------------
    def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> None:
        """A Dial() returned. Anything but ANSWER frees the slot for the next candidate."""
        dial_status = clean_text(dial_status, FIELD_LIMITS["dial_status"]) or "UNKNOWN"
        def step(conn: Connection) -> None:
            conn.execute(sql.END_ATTEMPT, {"uniqueid": uniqueid, "attempt": attempt,
                                           "dial_status": dial_status})
            if dial_status == "ANSWER":
                conn.execute(sql.MARK_ANSWERED, {"uniqueid": uniqueid, "attempt": attempt})
            else:
                conn.execute(sql.RELEASE_ATTEMPT, {"uniqueid": uniqueid, "attempt": attempt})
        self._in_transaction(step)

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
            conn.execute(sql.COUNT_DELIVERED, {"setting_id": finished.answered_setting_id})
        conn.execute(sql.RELEASE_CALL, {"uniqueid": end.uniqueid})
        return finished.status if finished is not None else None

    # -- housekeeping ------------------------------------------------------------------------
    def expire(self) -> int:
        """Free dialling slots whose hold ran out (their attempt never reported back)."""
        rows = self._in_transaction(lambda conn: conn.execute(sql.EXPIRE_DIALING).all())
        freed = sum(row.n for row in rows)
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
                # Two releases touching the same settings in opposite order can deadlock;
                # PostgreSQL aborts one, which is safe to run again.
                sqlstate = getattr(error.orig, "sqlstate", None)
                if sqlstate not in ("40P01", "40001") or attempt == DEADLOCK_RETRIES:
                    raise
                time.sleep(0.005 * attempt)
