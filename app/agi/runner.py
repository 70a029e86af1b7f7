"""`flask agi serve`: the FastAGI server wired to the routing engine, in one process or in
several that share the port (SO_REUSEPORT), plus, in one of them (the sweeper), the periodic
sweep of slots (by Asterisk's live channels when a command lists them, else by the clock) and
of expired cached bids, and the reconciliation of call logs with Asterisk's CDRs."""
import asyncio
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import uvloop

from app.agi.handlers import build_handlers
from app.agi.server import AGIServer, serve
from app.services.routing import AsyncRoutingService, cdr_reconciliation
from app.services.routing.live_channels import CommandSource, LiveChannels

log = logging.getLogger(__name__)

RoutingFactory = Callable[[], AsyncRoutingService]


# A call the live channels no longer show is ended only when it is older than this: the
# listing and the database are read a moment apart.
SWEEP_GRACE_SECONDS = 30


async def sweep(routing: AsyncRoutingService, live_channels: LiveChannels | None = None,
                grace_seconds: int = SWEEP_GRACE_SECONDS) -> tuple[int, list[str]]:
    """One round: with Asterisk's live channels, a call it still has keeps every slot whatever
    the clock, and a call it no longer has is ended (its slots freed); without them (no
    command, or it failed), dialling slots whose hold ran out are expired (the backstop).
    Returns (slots expired, calls ended)."""
    live = await live_channels() if live_channels is not None else None
    expired = await routing.expire(live)
    ended = await routing.reconcile(live, grace_seconds) if live is not None else []
    return expired, ended


async def sweep_periodically(routing: AsyncRoutingService, every: float,
                             live_channels: LiveChannels | None) -> None:
    """Free the slots of calls that stopped reporting (lost attempt_result or hangup), then
    delete the cached bids that have expired (nothing else would: a caller who never calls
    again leaves one per link that bid for them)."""
    while True:
        await asyncio.sleep(every)
        try:
            await sweep(routing, live_channels)
        except Exception:  # the database may be down; the next round tries again
            log.exception("reservation sweep failed")
        try:
            await routing.sweep_bid_cache()
        except Exception:  # likewise
            log.exception("sweeping expired bids failed")


async def reconcile_cdr_periodically(routing: AsyncRoutingService, every: float,
                                     window: float) -> None:
    """Complete or correct call logs from Asterisk's CDRs of the last `window` seconds
    (cdr_reconciliation): what lost FastAGI sessions left wrong or missing."""
    while True:
        await asyncio.sleep(every)
        try:
            await routing.reconcile_cdr(datetime.now(timezone.utc) - timedelta(seconds=window))
        except Exception:  # the database may be down; the next round tries again
            log.exception("CDR reconciliation failed")


async def ensure_partitions_periodically(routing: AsyncRoutingService, every: float) -> None:
    """Keep the monthly partitions of call_logs, call_attempts and cdr made ahead, every
    `every` seconds (a month that cannot be made now, its lock not granted at once, is made by
    a later round). The first round waits too: the migration made the months ahead, and a
    server may start while the database is still being migrated."""
    while True:
        await asyncio.sleep(every)
        try:
            await routing.ensure_partitions()
        except Exception:  # the database may be down; the next round tries again
            log.exception("making monthly partitions failed")


async def stop_when_orphaned(parent_pid: int) -> None:
    """A server forked by the supervisor stops when the supervisor is gone (even SIGKILLed):
    nothing would restart or stop it any more."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(1.0)
    log.error("agi supervisor %s is gone; stopping", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)


def serve_one(make_routing: RoutingFactory, *, bind: str, max_sessions: int, reuse_port: bool,
              sweeper: bool, allowed_peers: tuple[str, ...], parent_pid: int | None = None,
              expiry_interval: float = 15.0, grace_seconds: float = 10.0,
              live_channels_command: str | None = None,
              cdr_interval: float = cdr_reconciliation.PERIODIC_EVERY.total_seconds(),
              cdr_window: float = cdr_reconciliation.PERIODIC_WINDOW.total_seconds(),
              partitions_interval: float = 3600.0) -> None:
    """One server process: its own event loop, its own connection pool."""
    async def main() -> None:
        routing = make_routing()
        await routing.open()
        background: list[asyncio.Task] = []

        def started(server: AGIServer) -> None:
            loop = asyncio.get_running_loop()
            if sweeper:
                live = CommandSource(live_channels_command) if live_channels_command else None
                background.append(loop.create_task(
                    sweep_periodically(routing, expiry_interval, live)))
                background.append(loop.create_task(
                    reconcile_cdr_periodically(routing, cdr_interval, cdr_window)))
                background.append(loop.create_task(
                    ensure_partitions_periodically(routing, partitions_interval)))
            if parent_pid is not None:
                background.append(loop.create_task(stop_when_orphaned(parent_pid)))
        try:
            await serve(build_handlers(routing), bind=bind, grace_seconds=grace_seconds,
                        ready=started, max_sessions=max_sessions, reuse_port=reuse_port,
                        allowed_peers=allowed_peers, on_stop=routing.close)
        finally:
            for task in background:
                task.cancel()

    # libuv's event loop and transports: a FastAGI session costs about a sixth less CPU on them.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def run(make_routing: RoutingFactory, *, bind: str, max_sessions: int, processes: int,
        **options) -> None:
    if processes == 1:
        serve_one(make_routing, bind=bind, max_sessions=max_sessions, reuse_port=False,
                  sweeper=True, **options)
        return
    Supervisor(make_routing, bind=bind, max_sessions=max_sessions, processes=processes,
               **options).run()


class Supervisor:
    """Keeps `processes` servers running on one port until SIGTERM / SIGINT, restarting one
    that dies; only the first runs the slot sweep and the CDR reconciliation (both are
    idempotent, but one is enough)."""

    def __init__(self, make_routing: RoutingFactory, *, processes: int, **options):
        self.make_routing, self.processes, self.options = make_routing, processes, options
        self.children: dict[int, multiprocessing.Process] = {}
        self.stopping = False

    def _start(self, index: int) -> None:
        context = multiprocessing.get_context("fork")
        child = context.Process(target=serve_one, name=f"agi-{index}", args=(self.make_routing,),
                                kwargs={**self.options, "reuse_port": True, "sweeper": index == 0,
                                        "parent_pid": os.getpid()})
        child.start()
        self.children[index] = child

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(self.processes):
                self._start(index)
            while not self.stopping:
                time.sleep(0.2)
                for index, child in list(self.children.items()):
                    if not child.is_alive() and not self.stopping:
                        log.error("agi process %s exited with %s; starting it again",
                                  child.name, child.exitcode)
                        self._start(index)
        finally:
            for child in self.children.values():
                if child.is_alive():
                    os.kill(child.pid, signal.SIGTERM)
            for child in self.children.values():
                child.join(timeout=self.options.get("grace_seconds", 10.0) + 5)
                if child.is_alive():
                    child.kill()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
