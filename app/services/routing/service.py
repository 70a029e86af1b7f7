"""The routing engine for synchronous callers: the internal HTTP API, the CLI, the simulator
and the tests. Each step is one statement in autocommit (steps.py); the FastAGI server runs
the same statements through AsyncRoutingService.
"""
import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app.database.partitions import MONTHS_AHEAD
from app.domain.call_status import CallStatus
from app.services.bidding import BidRound
from app.services.routing import cdr_reconciliation
from app.services.routing.outcomes import CallArrival, CallEnd, RouteDecision
from app.services.routing.steps import (RETRIES, RETRYABLE_SQLSTATES, RoutingSteps, Simulation,
                                        Statement)

log = logging.getLogger(__name__)


class RoutingService(RoutingSteps):
    def __init__(self, engine: Engine, **options):
        super().__init__(**options)
        self.engine = engine

    def route(self, arrival: CallArrival) -> RouteDecision:
        """Open the call on first sight, then reserve the next admissible candidate."""
        step = super().route(arrival)
        if isinstance(step, RouteDecision):
            return step
        decision = self._run(step)
        if isinstance(decision, BidRound):
            bids = asyncio.run(self.ping_round(decision, arrival))
            decision = self._run(super().route(arrival, bids))
        return decision

    def simulate(self, campaign_id: int, *, caller_id: str | None = None,
                 at: datetime | None = None) -> Simulation:
        """Where would a call from `caller_id` to this campaign go at `at`? Reserves nothing;
        buyers that price by bid are pinged as a test."""
        simulation = self._run(super().simulate(campaign_id, caller_id, at))
        if isinstance(simulation, BidRound):
            bids = asyncio.run(self.test_ping_round(simulation, caller_id))
            simulation = self._run(super().simulate(campaign_id, caller_id, at, bids))
        return simulation

    def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> None:
        """A Dial() returned. Anything but ANSWER frees the slot for the next candidate."""
        self._run(super().attempt_result(uniqueid, attempt, dial_status))

    def answered(self, uniqueid: str, attempt: int) -> None:
        """The callee picked up: hold the slot until hangup instead of letting it expire."""
        self._run(super().answered(uniqueid, attempt))

    def hangup(self, end: CallEnd, *,
               unanswered_status: str = CallStatus.ABANDONED) -> str | None:
        """End the call: count it once if answered, release every slot it holds. Returns the
        call's final status, or None when it had already ended (a duplicate)."""
        step = super().hangup(end, unanswered_status)
        return self._run(step) if step is not None else None

    def expire(self, live_uniqueids: Iterable[str] | None = None) -> int:
        """Free dialling slots whose hold ran out (their attempt never reported back), except
        those of calls Asterisk still has (`live_uniqueids`, when known)."""
        freed = self._run(super().expire(live_uniqueids))
        if freed:
            log.warning("expired %d dialling reservation(s)", freed)
        return freed

    def ensure_partitions(self, months_ahead: int = MONTHS_AHEAD) -> int:
        """Make the monthly partitions from this month to `months_ahead` later that are missing."""
        return self._run(super().ensure_partitions(months_ahead))

    def reconcile(self, live_uniqueids: Iterable[str], grace_seconds: int = 60) -> list[str]:
        """End every call older than the grace period that Asterisk no longer has."""
        vanished = self._run(self.vanished_calls(live_uniqueids, grace_seconds))
        for uniqueid in vanished:  # one transaction per call keeps the lock order simple
            self.hangup(CallEnd(uniqueid=uniqueid), unanswered_status=CallStatus.ABANDONED)
        if vanished:
            log.warning("reconcile ended %d vanished call(s)", len(vanished))
        return vanished

    def reconcile_cdr(self, since: datetime, until: datetime | None = None) -> list[dict]:
        """Complete or correct the call logs of the calls whose CDRs ended in [since, until)
        (see cdr_reconciliation). Returns what changed, one entry per call log."""
        changed = []
        for batch in cdr_reconciliation.batches(self._run(self.cdr_suspects(since, until))):
            for call in cdr_reconciliation.calls(self._run(self.cdr_rows(batch))):
                result = self._run(self.reconcile_cdr_call(call))
                if result:
                    changed.append(result)
        cdr_reconciliation.log_changes(changed)
        return changed

    def _run(self, statement: Statement):
        for attempt in range(1, RETRIES + 1):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    result = conn.exec_driver_sql(statement.sql, statement.params)
                    row = result.all() if statement.many else result.first()
                return statement.decode(row)
            except DBAPIError as error:
                sqlstate = getattr(error.orig, "sqlstate", None)
                if sqlstate not in RETRYABLE_SQLSTATES or attempt == RETRIES:
                    raise
                time.sleep(0.005 * attempt)
