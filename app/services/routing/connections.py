"""A small pool of asynchronous PostgreSQL connections for the FastAGI server.

Why not psycopg_pool: after a database restart its reconnection backs off exponentially (1 s,
2 s, 4 s …), so calls keep failing for seconds after PostgreSQL is back. Here a connection is
made on demand whenever no idle one is left, so the first call after an outage reconnects at
once; and the first broken connection found empties the idle list, since a restart killed its
siblings too.
"""
import asyncio
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
        self._slots = asyncio.Semaphore(size)

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

    @asynccontextmanager
    async def connection(self, wait: float | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection within `wait` seconds (the pool's default wait if None)."""
        wait = self.wait if wait is None else wait
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
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
            self._slots.release()

    async def _connect(self) -> psycopg.AsyncConnection:
        try:
            async with asyncio.timeout(self.wait):
                return await psycopg.AsyncConnection.connect(self.conninfo, **self.connect_options)
        except TimeoutError:
            raise PoolOverloaded(f"could not connect within {self.wait} s") from None
