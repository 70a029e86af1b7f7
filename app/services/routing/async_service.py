"""The routing engine for the FastAGI server: the same one-statement steps as RoutingService,
sent from the server's event loop through psycopg's asynchronous connection pool (autocommit,
prepared statements, no ORM and no thread hop on the call path).
"""
import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime

import psycopg
from sqlalchemy.engine import make_url

from app.domain.call_status import CallStatus
from app.services.bidding import BidRound
from app.services.routing import cdr_reconciliation
from app.services.routing.connections import ConnectionPool, PoolOverloaded
from app.services.routing.outcomes import (REFUSED_BEFORE_ROUTING, CallArrival, CallEnd,
                                            RouteDecision)
from app.services.routing.steps import (BID_CACHE_SWEEP_BATCH, RETRIES, RETRYABLE_SQLSTATES,
                                        RoutingSteps, Simulation, Statement)

log = logging.getLogger(__name__)

# A step that cannot finish in this time fails (the call is rejected with reason "error")
# instead of keeping its Asterisk channel waiting on a stuck database.
STATEMENT_TIMEOUT_MS = 5000
# A route must start its database work within this long of its connection's arrival, or it is
# refused (see README, "Under overload": the default is measured there).
DEFAULT_ROUTE_BUDGET = 0.3


def libpq_conninfo(sqlalchemy_url) -> str:
    """`postgresql+psycopg://…` (a SQLAlchemy URL or its string) as a libpq URI."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class AsyncRoutingService(RoutingSteps):
    """Open it inside the event loop that uses it (`await open()`, or lazily on first use) and
    `await close()` it when that loop stops."""

    def __init__(self, conninfo: str, *, pool_size: int = 8, min_pool_size: int | None = None,
                 connection_wait: float = 2.0, route_budget: float = DEFAULT_ROUTE_BUDGET,
                 **options):
        super().__init__(**options)
        self.conninfo = conninfo
        self.pool_size = pool_size
        self.min_pool_size = pool_size if min_pool_size is None else min_pool_size
        self.connection_wait = connection_wait  # longest wait for a free connection
        # Admission control: a route that cannot start its database work this soon after its
        # connection arrived (time spent queueing in a busy server included) is refused at once
        # (reason "overload", cause 41), so the carrier can try elsewhere instead of the caller
        # hearing silence while calls pile up.
        self.route_budget = route_budget
        self._pool: ConnectionPool | None = None

    @classmethod
    def from_engine_url(cls, url, **options) -> "AsyncRoutingService":
        """From a SQLAlchemy URL (`engine.url`, or DATABASE_URI)."""
        return cls(libpq_conninfo(url), **options)

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._pool = ConnectionPool(
            self.conninfo, size=self.pool_size, wait=self.connection_wait, autocommit=True,
            prepare_threshold=0, options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        await self._pool.open(prewarm=self.min_pool_size)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # -- the steps -----------------------------------------------------------------------
    async def route(self, arrival: CallArrival, *, arrived_at: float | None = None) -> RouteDecision:
        """`arrived_at` (the event loop's clock): when the route's connection arrived; the
        budget counts from then (default: from now)."""
        step = super().route(arrival)
        if isinstance(step, RouteDecision):
            return step
        waited = asyncio.get_running_loop().time() - arrived_at if arrived_at is not None else 0.0
        try:
            if waited >= self.route_budget:
                raise PoolOverloaded("the budget ran out before the database work started")
            decision = await self._run(step, wait=self.route_budget - waited)
            if isinstance(decision, BidRound):
                # No connection is held while the buyers answer. Their time counts from the
                # call's arrival, so the route ends within the bid timeout and one statement.
                bids = await self.ping_round(decision, arrival, started_at=arrived_at)
                decision = await self._run(super().route(arrival, bids), wait=self.route_budget)
            return decision
        except PoolOverloaded:
            log.warning("route uniqueid=%s refused: database work not started within %.0f ms of "
                        "its arrival", arrival.uniqueid, self.route_budget * 1000)
            return RouteDecision.reject("overload")

    async def simulate(self, campaign_id: int, *, caller_id: str | None = None,
                       at: datetime | None = None) -> Simulation:
        simulation = await self._run(super().simulate(campaign_id, caller_id, at))
        if isinstance(simulation, BidRound):
            bids = await self.test_ping_round(simulation, caller_id)
            simulation = await self._run(super().simulate(campaign_id, caller_id, at, bids))
        return simulation

    # The steps of calls in progress go before new routes when connections are short (see
    # connections.py): they free slots and count deliveries.
    async def attempt_result(self, uniqueid: str, attempt: int, dial_status: str) -> None:
        await self._run(super().attempt_result(uniqueid, attempt, dial_status), urgent=True)

    async def answered(self, uniqueid: str, attempt: int) -> None:
        await self._run(super().answered(uniqueid, attempt), urgent=True)

    async def hangup(self, end: CallEnd, *, unanswered_status: str = CallStatus.ABANDONED,
                     refusal_reason: str | None = None) -> str | None:
        """`refusal_reason`: why the dialplan refused the call, if it did (its CC_REASON). A
        call refused before routing could open it (overload) is logged with that reason, and
        as it holds nothing its log waits its turn behind the steps that free slots (under
        overload these refusals come by the hundred)."""
        refused_early = refusal_reason in REFUSED_BEFORE_ROUTING
        step = super().hangup(end, refusal_reason if refused_early else unanswered_status)
        return await self._run(step, urgent=not refused_early) if step is not None else None

    async def expire(self, live_uniqueids: Iterable[str] | None = None) -> int:
        freed = await self._run(super().expire(live_uniqueids))
        if freed:
            log.warning("expired %d dialling reservation(s)", freed)
        return freed

    async def ensure_partitions(self) -> int:
        made = await self._run(super().ensure_partitions())
        if made:
            log.info("made %d monthly partition(s) ahead", made)
        return made

    async def sweep_bid_cache(self, batch: int = BID_CACHE_SWEEP_BATCH,
                              most_batches: int = 20) -> int:
        """Delete the cached bids that have expired, one short statement per `batch` rows and
        at most `most_batches` of them (a larger backlog waits for the next round). Returns
        how many went."""
        swept = 0
        for _ in range(most_batches):
            gone = await self._run(super().sweep_bid_cache(batch))
            swept += gone
            if gone < batch:
                break
        return swept

    async def reconcile(self, live_uniqueids: Iterable[str], grace_seconds: int = 60) -> list[str]:
        vanished = await self._run(self.vanished_calls(live_uniqueids, grace_seconds))
        for uniqueid in vanished:
            await self.hangup(CallEnd(uniqueid=uniqueid), unanswered_status=CallStatus.ABANDONED)
        return vanished

    async def reconcile_cdr(self, since: datetime, until: datetime | None = None) -> list[dict]:
        """As RoutingService.reconcile_cdr, from the server's own connections."""
        changed = []
        for batch in cdr_reconciliation.batches(await self._run(self.cdr_suspects(since, until))):
            for call in cdr_reconciliation.calls(await self._run(self.cdr_rows(batch))):
                result = await self._run(self.reconcile_cdr_call(call))
                if result:
                    changed.append(result)
        cdr_reconciliation.log_changes(changed)
        return changed

    # -- plumbing ------------------------------------------------------------------------
    async def _run(self, statement: Statement, wait: float | None = None, urgent: bool = False):
        if self._pool is None:
            await self.open()
        pool = self._pool
        for attempt in range(1, RETRIES + 1):
            try:
                async with pool.connection(wait, urgent) as conn:
                    cursor = await conn.execute(statement.sql, statement.params)
                    row = await (cursor.fetchall() if statement.many else cursor.fetchone())
                return statement.decode(row)
            except psycopg.DatabaseError as error:
                if attempt == RETRIES:
                    raise
                if error.sqlstate in RETRYABLE_SQLSTATES:
                    await asyncio.sleep(0.005 * attempt)
                elif _connection_broke(error):
                    # It died with the server (a restart), and so did its idle siblings.
                    pool.discard_idle()
                else:
                    raise


def _connection_broke(error: psycopg.DatabaseError) -> bool:
    """The connection broke under the step (server restarted, socket reset): it never ran, or
    ran and rolled back, so another connection may run it. Not a pool timeout (the database
    is overloaded or down: retrying only queues longer) nor any SQL error."""
    if isinstance(error, PoolOverloaded) or not isinstance(error, psycopg.OperationalError):
        return False
    return error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))
