"""A small pool of asynchronous PostgreSQL connections for the FastAGI server.

Why not psycopg_pool: after a database restart its reconnection backs off exponentially (1 s,
2 s, 4 s …), so calls keep failing for seconds after PostgreSQL is back. Here a connection is
made on demand whenever no idle one is left, so the first call after an outage reconnects at
once; and the first broken connection found empties the idle list, since a restart killed its
siblings too.

Under overload the steps of calls already in progress (answered, attempt_result, hangup) go
first: a connection that comes free is given to them before any new `route`, which would only
add a call; otherwise a flood of new calls starves the steps that free slots and count
deliveries (measured: hangups failing after their 2 s wait, their slots held until the sweep).
"""
import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.pq import TransactionStatus


class PoolOverloaded(psycopg.OperationalError):
    """No connection became free within the wait budget."""


class ConnectionPool:
    def __init__(self, conninfo: str, *, size: int, wait: float, **connect_options):
        self.conninfo = conninfo
        self.size = size
        self.wait = wait  # longest wait for a free connection, connecting included
        self.connect_options = connect_options
        self._idle: list[psycopg.AsyncConnection] = []
        self._free = size  # connections neither in use nor promised to a waiter
        self._waiters = (deque(), deque())  # urgent first, then the others; futures

    async def open(self, prewarm: int) -> None:
        """Connect `prewarm` connections now; failures are left for later calls to retry."""
        for _ in range(prewarm):
            try:
                self._idle.append(await self._connect())
            except (psycopg.OperationalError, TimeoutError):
                break

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    def discard_idle(self) -> None:
        """Forget every idle connection (after one was found broken: a restart killed all)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.pgconn.finish()  # no round trip: the server is probably gone

    async def _acquire(self, wait: float, urgent: bool) -> None:
        if self._free and not any(self._waiters):
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        queue = self._waiters[0 if urgent else 1]
        queue.append(turn)
        try:
            async with asyncio.timeout(wait):
                await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # handed over just as we gave up: pass it on
            else:
                turn.cancel()
                with contextlib.suppress(ValueError):  # a release may have dropped it already
                    queue.remove(turn)
            raise

    def _release(self) -> None:
        for queue in self._waiters:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._free += 1

    @asynccontextmanager
    async def connection(self, wait: float | None = None,
                         urgent: bool = False) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection within `wait` seconds (the pool's default wait if None); `urgent`
        waiters (steps of calls in progress) are served before the others."""
        wait = self.wait if wait is None else wait
        try:
            await self._acquire(wait, urgent)
        except TimeoutError:
            raise PoolOverloaded(f"no database connection free within {wait} s") from None
        conn = None
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            yield conn
        finally:
            if conn is not None:
                if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
                    self._idle.append(conn)
                else:
                    conn.pgconn.finish()
            self._release()

    async def _connect(self) -> psycopg.AsyncConnection:
        try:
            async with asyncio.timeout(self.wait):
                return await psycopg.AsyncConnection.connect(self.conninfo, **self.connect_options)
        except TimeoutError:
            raise PoolOverloaded(f"could not connect within {self.wait} s") from None
