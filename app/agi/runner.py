"""`flask agi serve`: the FastAGI server wired to the routing engine, plus periodic expiry."""
import asyncio
import logging

from app.agi.handlers import build_handlers
from app.agi.server import AGIServer, serve
from app.services.routing import RoutingService

log = logging.getLogger(__name__)


async def expire_periodically(server: AGIServer, routing: RoutingService, every: float) -> None:
    """Free dialling slots whose attempt never reported back (lost attempt_result)."""
    while True:
        await asyncio.sleep(every)
        try:
            await server.run_blocking(routing.expire)
        except Exception:  # the database may be down; the next round tries again
            log.exception("reservation expiry failed")


def run(routing: RoutingService, *, bind: str, max_sessions: int, workers: int,
        expiry_interval: float = 15.0, grace_seconds: float = 10.0) -> None:
    background: list[asyncio.Task] = []

    def started(server: AGIServer) -> None:
        background.append(asyncio.get_running_loop().create_task(
            expire_periodically(server, routing, expiry_interval)))

    async def main() -> None:
        try:
            await serve(build_handlers(routing), bind=bind, grace_seconds=grace_seconds,
                        ready=started, max_sessions=max_sessions, blocking_workers=workers)
        finally:
            for task in background:
                task.cancel()

    asyncio.run(main())
