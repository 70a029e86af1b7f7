"""The asyncio FastAGI server: one task per Asterisk connection, bounded in every direction.

Asterisk opens one TCP connection per ``AGI()`` call and blocks that call's dialplan until
we close it, so each session here is short, capped (count and duration) and always ends
the same way: half-close, read Asterisk's trailing ``HANGUP`` until EOF, close.

Handlers are given explicitly: ``AGIServer({"route": route, "hangup": hangup})``. There is
no registry and importing this module registers nothing.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import itertools
import logging
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from app.agi.protocol import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    MAX_HEADER_BYTES,
    MAX_HEADER_LINES,
    MAX_LINE_BYTES,
    AGIConnection,
    AGIConnectionLost,
    AGIEnvironment,
    AGIError,
    AGIProtocolError,
    AGIStream,
    AGITimeout,
    read_environment,
)
from app.agi.session import AGISession
from app.services.routing.outcomes import RouteDecision

T = TypeVar("T")
Handler = Callable[[AGISession], Awaitable[None]]

DEFAULT_BIND = "127.0.0.1:4573"
DEFAULT_ALLOWED_PEERS = ("127.0.0.0/8", "::1/128")  # loopback: Asterisk on the same host

# What the dialplan gets when a handler fails: reject, reason "error", Q.850 41
# (temporary failure). SET VARIABLE is allowed on dead channels too, so this always applies.
ERROR_VARIABLES = MappingProxyType(RouteDecision.reject("error").channel_variables())

_MAX_TRAILING_BYTES = 64 * 1024  # what we are willing to read after half-closing
# Asterisk connects from one or two addresses: each is judged once, not at every call.
_MAX_PEER_VERDICTS = 1024


class Outcome:
    """How a session ended; every log line and :class:`SessionRecord` carries one of these."""

    OK = "ok"  # handler returned
    ERROR = "error"  # handler raised; the error variables were set if the line allowed it
    TIMEOUT = "timeout"  # the session outlived session_timeout
    DROPPED = "dropped"  # Asterisk closed or reset the connection mid-session
    PROTOCOL_ERROR = "protocol_error"  # garbage, oversize line or unreadable reply mid-session
    BAD_HEADER = "bad_header"  # the environment block was garbage, too long or too slow
    UNKNOWN_SCRIPT = "unknown_script"  # no handler for agi_network_script
    REFUSED = "refused"  # no free session slot in time, or the server is stopping
    FORBIDDEN = "forbidden"  # the peer's address is not in the allow-list
    SHED = "shed"  # stalled on a silent peer while real calls needed its session slot
    CANCELLED = "cancelled"  # still running when a graceful stop ran out of grace


@dataclass
class SessionRecord:
    """The summary of one connection, filled in as it goes; logged and given to ``on_session_end``."""

    peer: str
    uniqueid: str = "-"
    script: str = "-"
    outcome: str = Outcome.REFUSED
    duration: float = 0.0
    hung_up: bool = False  # an inline HANGUP (or a 511) was seen during the handler
    trailing_hangup: bool = False  # Asterisk's end-of-session HANGUP was read after half-close
    error_reported: bool = False  # ERROR_VARIABLES were set on the channel
    error: str | None = None
    arrived_at: float | None = None  # when the connection was accepted (the event loop's clock)


# A session that went well is a DEBUG line: the handler already logged the call's decision at
# INFO, and two lines per session cost about a tenth of the server's CPU under load.
_LOG_LEVELS = {
    Outcome.OK: logging.DEBUG,
    Outcome.ERROR: logging.ERROR,
    Outcome.TIMEOUT: logging.ERROR,
    Outcome.PROTOCOL_ERROR: logging.ERROR,
}


class AGIServer:
    """FastAGI server. Use ``await start()`` / ``await stop(grace)`` or ``async with``."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        max_sessions: int = 64,
        admission_timeout: float = 1.0,
        session_timeout: float = 30.0,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        close_timeout: float = 1.0,
        blocking_workers: int = 8,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_header_lines: int = MAX_HEADER_LINES,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_pending_headers: int = 256,
        on_session_end: Callable[[SessionRecord], None] | None = None,
        on_stop: Callable[[], Awaitable[None]] | None = None,
        reuse_port: bool = False,
        allowed_peers: Sequence[str] | None = DEFAULT_ALLOWED_PEERS,
        shed_stalled_after: float = 0.5,
        logger: logging.Logger | None = None,
    ) -> None:
        for name, handler in handlers.items():
            if not isinstance(name, str) or not name or not callable(handler):
                raise TypeError(f"handlers must map script names to async callables, got {name!r}")
        if max_sessions < 1 or blocking_workers < 1 or max_pending_headers < 1:
            raise ValueError("max_sessions, blocking_workers and max_pending_headers must be at least 1")
        self.handlers: Mapping[str, Handler] = MappingProxyType(dict(handlers))
        self.host, self.port = host, port
        self.max_sessions = max_sessions
        self.admission_timeout = admission_timeout
        self.session_timeout = session_timeout
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.close_timeout = close_timeout
        self.max_line_bytes = max_line_bytes
        self.max_header_lines = max_header_lines
        self.max_header_bytes = max_header_bytes
        self.max_pending_headers = max_pending_headers
        self.on_session_end = on_session_end
        self.on_stop = on_stop  # e.g. close the handlers' database pool, once sessions ended
        self.reuse_port = reuse_port  # several processes serve one port (SO_REUSEPORT)
        # FastAGI has no authentication: only these networks may speak to us (None: anyone).
        self.allowed_peers = (None if allowed_peers is None
                              else tuple(ipaddress.ip_network(net, strict=False) for net in allowed_peers))
        # With every slot taken, a session that has waited this long for its peer's reply (a
        # real Asterisk answers in a millisecond) gives its slot to a new call.
        self.shed_stalled_after = shed_stalled_after
        self._peer_verdicts: dict[str, bool] = {}
        self._sessions: set[AGIConnection] = set()
        self._shed: set[AGIConnection] = set()
        self.log = logger or logging.getLogger(__name__)
        self.outcomes: Counter[str] = Counter()
        # Blocking work (database calls) runs here, never on the event loop. Size it like
        # the database connection pool: more threads would only queue inside the pool.
        self.executor = ThreadPoolExecutor(max_workers=blocking_workers, thread_name_prefix="agi-blocking")
        self._slots = asyncio.Semaphore(max_sessions)
        self._active = 0
        # Connections still sending their environment block, oldest first (see _read_header).
        self._pending_headers: dict[AGIStream, None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[None]] = set()
        self._listener: asyncio.AbstractServer | None = None
        self._stopping = False
        self._stopped = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._listener = await asyncio.get_running_loop().create_server(
            self._new_stream, self.host, self.port, reuse_address=True,
            reuse_port=self.reuse_port or None)
        self.port = self._listener.sockets[0].getsockname()[1]  # resolves port=0
        self.log.info("agi server listening on %s:%s (max_sessions=%s)", self.host, self.port, self.max_sessions)

    async def __aenter__(self) -> "AGIServer":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def active_sessions(self) -> int:
        return self._active

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop accepting, refuse queued connections, let sessions finish for up to
        ``grace_seconds``, then cancel the rest. Safe to call more than once."""
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
        for task in list(self._waiting):
            task.cancel()
        self._shed_pending_headers(len(self._pending_headers))
        running = [task for task in self._tasks if not task.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace_seconds)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=self.close_timeout + 1.0)
        if self._listener is not None:
            try:
                async with asyncio.timeout(self.close_timeout):
                    await self._listener.wait_closed()
            except TimeoutError:
                self.log.warning("agi server: listener did not close within %s s", self.close_timeout)
        # A thread stuck in the database cannot be interrupted; do not hang the stop on it.
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.on_stop is not None:
            try:
                await self.on_stop()
            except Exception:
                self.log.exception("agi server: on_stop failed")
        self.log.info("agi server stopped (%s)", dict(self.outcomes))
        self._stopped.set()

    async def run_blocking(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on the server's bounded thread pool."""
        return await self._run_in_pool(functools.partial(function, *args, **kwargs))

    def _run_in_pool(self, call: Callable[[], T]) -> "asyncio.Future[T]":
        return asyncio.get_running_loop().run_in_executor(self.executor, call)

    # ------------------------------------------------------------------ one connection

    def _new_stream(self) -> AGIStream:
        return AGIStream(on_connected=self._on_connection,
                         max_buffer=2 * (self.max_header_bytes + self.max_line_bytes))

    def _on_connection(self, stream: AGIStream) -> None:
        if not self._peer_allowed(stream):
            stream.abort()  # before reading a byte
            record = SessionRecord(peer=_peer_name(stream), outcome=Outcome.FORBIDDEN,
                                   error="peer address not in the allow-list (AGI_ALLOWED)")
            self._report(record)
            return
        arrived = asyncio.get_running_loop().time()
        task = asyncio.create_task(self._serve_connection(stream, arrived))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_connection(self, stream: AGIStream, arrived: float | None = None) -> None:
        started = time.monotonic()
        record = SessionRecord(peer=_peer_name(stream), arrived_at=arrived)
        admitted = False
        try:
            env = await self._read_header(stream, record)
            if env is None:
                return
            admitted = await self._admit()
            if not admitted:
                stream.close()
                return
            await self._run_session(env, stream, record)
        except asyncio.CancelledError:
            record.outcome = Outcome.CANCELLED if admitted else Outcome.REFUSED
            stream.abort()
            raise
        except Exception as exc:  # a bug of ours: contain it to this one connection
            self.log.exception("agi server internal error uniqueid=%s script=%s outcome=%s",
                               record.uniqueid, record.script, Outcome.ERROR)
            record.outcome, record.error = Outcome.ERROR, repr(exc)
            stream.abort()
        finally:
            if admitted:
                self._active -= 1
                self._slots.release()
            record.duration = time.monotonic() - started
            self._report(record)

    async def _admit(self) -> bool:
        """Take a session slot, waiting at most admission_timeout (while not stopping)."""
        if self._stopping:
            return False
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            if self._slots.locked():
                self._shed_stalled_session()
                async with asyncio.timeout(self.admission_timeout):
                    await self._slots.acquire()
            else:
                await self._slots.acquire()  # a free slot: taken at once, no timer needed
        except TimeoutError:
            return False
        finally:
            self._waiting.discard(task)
        self._active += 1
        return True

    async def _read_header(self, stream: AGIStream, record: SessionRecord) -> AGIEnvironment | None:
        """Read the environment block before taking a session slot.

        A peer that connects and sends nothing (or half a header) must not hold one of the
        max_sessions slots for header_timeout: a few hundred such sockets would lock Asterisk
        out. So the header phase holds no slot; it is bounded on its own instead, by
        header_timeout for each peer and max_pending_headers for all of them: past that many,
        the oldest is shed. Asterisk writes its whole block as soon as it connects, so a real
        call spends well under a millisecond here and is never the oldest.
        """
        if self._stopping:
            stream.close()
            return None
        self._shed_pending_headers(len(self._pending_headers) + 1 - self.max_pending_headers)
        self._pending_headers[stream] = None
        try:
            env = await read_environment(stream, timeout=self.header_timeout, max_lines=self.max_header_lines,
                                         max_line_bytes=self.max_line_bytes, max_bytes=self.max_header_bytes)
        except AGIError as exc:
            stream.close()
            if stream not in self._pending_headers:  # shed for a newer peer, or stopping
                record.outcome, record.error = Outcome.REFUSED, f"shed while sending its header ({exc})"
            else:
                record.outcome = Outcome.DROPPED if isinstance(exc, AGIConnectionLost) else Outcome.BAD_HEADER
                record.error = str(exc)
            return None
        finally:
            self._pending_headers.pop(stream, None)
        record.uniqueid, record.script = env.get("agi_uniqueid") or "-", env.script or "-"
        return env

    def _shed_pending_headers(self, count: int) -> None:
        """Drop the ``count`` oldest connections still waiting for their header."""
        for stream in list(itertools.islice(self._pending_headers, max(count, 0))):
            del self._pending_headers[stream]
            stream.abort()  # its read_environment ends at once (connection lost)

    def _peer_allowed(self, stream: AGIStream) -> bool:
        if self.allowed_peers is None:
            return True
        peer = stream.peer()
        host = peer[0] if isinstance(peer, tuple) and peer and isinstance(peer[0], str) else None
        if host is None:
            return False  # not an IP peer (a Unix socket?): not ours to serve
        allowed = self._peer_verdicts.get(host)
        if allowed is None:
            if len(self._peer_verdicts) >= _MAX_PEER_VERDICTS:
                self._peer_verdicts.clear()
            allowed = self._peer_verdicts[host] = self._address_allowed(host)
        return allowed

    def _address_allowed(self, host: str) -> bool:
        assert self.allowed_peers is not None
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed_peers)

    def _shed_stalled_session(self) -> None:
        """Every slot is taken: drop the session that has waited longest for a silent peer."""
        now = asyncio.get_running_loop().time()
        stalled = [c for c in self._sessions
                   if c.waiting_since is not None and now - c.waiting_since >= self.shed_stalled_after]
        if stalled:
            oldest = min(stalled, key=lambda c: c.waiting_since)
            self._shed.add(oldest)
            oldest.stream.abort()  # its read fails at once; its slot comes free

    async def _run_session(self, env: AGIEnvironment, stream: AGIStream, record: SessionRecord) -> None:
        connection = AGIConnection(stream, command_timeout=self.command_timeout,
                                   max_line_bytes=self.max_line_bytes)
        self._sessions.add(connection)
        try:
            await self._run_connection(connection, env, record)
        finally:
            self._sessions.discard(connection)
            if connection in self._shed:
                self._shed.discard(connection)
                record.outcome = Outcome.SHED

    async def _run_connection(self, connection: AGIConnection, env: AGIEnvironment,
                              record: SessionRecord) -> None:
        handler = self.handlers.get(env.script)
        if handler is None:
            record.outcome = Outcome.UNKNOWN_SCRIPT
            record.error = f"no handler for script {env.network_script!r}"
        else:
            session = AGISession(connection, env, run_blocking=self._run_in_pool,
                                 arrived_at=record.arrived_at)
            await self._run_handler(handler, session, record)
        record.trailing_hangup = await self._close_gracefully(connection)

    async def _run_handler(self, handler: Handler, session: AGISession, record: SessionRecord) -> None:
        deadline = asyncio.timeout(self.session_timeout)
        try:
            async with deadline:
                await handler(session)
            record.outcome = Outcome.OK
        except Exception as exc:  # any handler failure must still answer the dialplan
            record.outcome, record.error = _classify_failure(exc, deadline.expired())
            failed_here = record.outcome in (Outcome.ERROR, Outcome.TIMEOUT)
            self.log.log(logging.ERROR if failed_here else logging.WARNING,
                         "agi handler failed uniqueid=%s script=%s outcome=%s error=%s",
                         record.uniqueid, record.script, record.outcome, record.error,
                         exc_info=exc if record.outcome == Outcome.ERROR else None)
            if failed_here:
                record.error_reported = await self._report_error(session)
        finally:
            record.hung_up = session.hung_up

    async def _report_error(self, session: AGISession) -> bool:
        """Tell the dialplan to reject the call, if the line can still carry commands."""
        if not session.connection.usable:
            return False
        try:
            await session.set_variables(ERROR_VARIABLES)
        except AGIError as exc:
            self.log.warning("agi could not report error uniqueid=%s script=%s outcome=%s error=%s",
                             session.uniqueid, session.script, Outcome.ERROR, exc)
            return False
        return True

    async def _close_gracefully(self, connection: AGIConnection) -> bool:
        """Half-close, read until Asterisk's EOF (its trailing HANGUP comes first), close.

        Returns whether a trailing HANGUP was read. Bounded by close_timeout throughout.
        """
        stream = connection.stream
        trailing = b""
        try:
            with stream.deadline(self.close_timeout, "no EOF after our half-close"):
                stream.write_eof()
                trailing = await stream.read_until_eof(_MAX_TRAILING_BYTES)
        except (AGITimeout, AGIConnectionLost, ConnectionError, OSError):
            pass  # Asterisk already gone or slow to close: we close anyway
        stream.close()
        try:
            with stream.deadline(self.close_timeout, "socket not closed"):
                await stream.wait_closed()
        except AGITimeout:
            pass
        return b"HANGUP" in trailing.split(b"\n")

    def _report(self, record: SessionRecord) -> None:
        self.outcomes[record.outcome] += 1
        self.log.log(
            _LOG_LEVELS.get(record.outcome, logging.WARNING),
            "agi session uniqueid=%s script=%s outcome=%s duration_ms=%.0f hung_up=%s "
            "trailing_hangup=%s error_reported=%s peer=%s%s",
            record.uniqueid, record.script, record.outcome, record.duration * 1000, record.hung_up,
            record.trailing_hangup, record.error_reported, record.peer,
            f" error={record.error}" if record.error else "",
            extra={"agi_uniqueid": record.uniqueid, "agi_script": record.script,
                   "agi_outcome": record.outcome},
        )
        if self.on_session_end is not None:
            try:
                self.on_session_end(record)
            except Exception:  # an observer must not break the server
                self.log.exception("agi on_session_end hook failed uniqueid=%s script=%s outcome=%s",
                                   record.uniqueid, record.script, record.outcome)


def _classify_failure(exc: Exception, deadline_expired: bool) -> tuple[str, str]:
    if deadline_expired:
        return Outcome.TIMEOUT, "session timeout"
    if isinstance(exc, AGIConnectionLost):
        return Outcome.DROPPED, str(exc)
    if isinstance(exc, AGIProtocolError):
        return Outcome.PROTOCOL_ERROR, str(exc)
    if isinstance(exc, AGITimeout):
        return Outcome.TIMEOUT, str(exc)
    return Outcome.ERROR, f"{type(exc).__name__}: {exc}"


def _peer_name(stream: AGIStream) -> str:
    peer = stream.peer()
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)


# ---------------------------------------------------------------------- running it


def parse_bind(bind: str) -> tuple[str, int]:
    """``"127.0.0.1:4573"`` / ``"[::1]:4573"`` / ``":4573"`` -> (host, port)."""
    host, separator, port = bind.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"bind address must be HOST:PORT, got {bind!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


async def serve(
    handlers: Mapping[str, Handler],
    *,
    bind: str = DEFAULT_BIND,
    grace_seconds: float = 10.0,
    ready: Callable[[AGIServer], None] | None = None,
    **server_options: Any,
) -> None:
    """Run a server until SIGTERM or SIGINT, then stop it gracefully."""
    host, port = parse_bind(bind)
    server = AGIServer(handlers, host=host, port=port, **server_options)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop_requested.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not on this platform / not main thread
            pass
    try:
        await server.start()
        if ready is not None:
            ready(server)
        await stop_requested.wait()
        server.log.info("agi server: stop requested, grace %s s", grace_seconds)
    finally:
        await server.stop(grace_seconds)
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_forever(bind: str = DEFAULT_BIND, handlers: Mapping[str, Handler] | None = None,
                **options: Any) -> None:
    """Blocking entry point (``flask agi serve``): ``run_forever(bind, handlers={...})``."""
    if not handlers:
        raise ValueError("run_forever needs at least one handler")
    asyncio.run(serve(handlers, bind=bind, **options))
