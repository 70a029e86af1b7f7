"""Helpers for hostile-input tests: a server on its own thread, an Asterisk that misbehaves on
cue, channels whose n-th AGI session is tampered with, and raw sockets.

The server runs on its own event loop thread so that it outlives each hypothesis example (the
client side of every example is a fresh ``asyncio.run``): whatever one example leaves behind
(a held slot, a stuck task) is still there for the next one to trip over.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from app.agi import AGIServer, Handler, SessionRecord
from fake_asterisk.dialplan import Channel
from fake_asterisk.fastagi import FakeAsterisk

HOST = "127.0.0.1"


class ServerThread:
    """``with ServerThread(handlers, **options) as agi:`` an AGIServer on a background loop."""

    def __init__(self, handlers: Mapping[str, Handler], *, grace: float = 5.0, **options: Any) -> None:
        self.handlers, self.options, self.grace = handlers, options, grace
        self.records: list[SessionRecord] = []
        self.server: AGIServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="agi-server", daemon=True)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        if not self._ready.wait(10) or self.server is None:
            raise RuntimeError(f"agi server thread did not start: {self._error!r}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.grace + 5)
        assert not self._thread.is_alive(), "agi server thread did not stop"

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.server = AGIServer(self.handlers, host=HOST, port=0, on_session_end=self.records.append,
                                **self.options)
        await self.server.start()
        self._ready.set()
        await self._stop.wait()
        await self.server.stop(self.grace)

    def state(self) -> dict[str, int]:
        """What the server holds right now, read on its own loop."""
        async def read() -> dict[str, int]:
            server = self.server
            assert server is not None
            return {"active": server.active_sessions,
                    "free_slots": server._slots._value,  # noqa: SLF001 - the invariant under test
                    "tasks": sum(1 for task in server._tasks if not task.done())}
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(read(), self.loop).result(5)

    def wait_idle(self, timeout: float = 10.0) -> dict[str, int]:
        """Wait until no connection is being served; every slot must be free again."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state["tasks"] == 0 and state["active"] == 0:
                assert state["free_slots"] == self.server.max_sessions, state
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"agi server still busy after {timeout} s: {state}")
            time.sleep(0.01)

    def outcomes(self) -> Counter[str]:
        return Counter(record.outcome for record in list(self.records))


class TamperedAsterisk(FakeAsterisk):
    """A FakeAsterisk that also does what a real Asterisk never would, on cue.

    after_env: bytes written right after the environment block (before any command).
    before_reply: {k: bytes} written just before the reply to command k.
    replace_reply: {k: bytes} written instead of the reply to command k (the command itself
        was executed, as if the reply were corrupted on its way).
    abort_after_reply: drop the connection right after the reply to command k, while the
        server is busy with what that reply told it (e.g. the database work of ``route``).
    """

    def __init__(self, env: Mapping[str, str], *, after_env: bytes = b"",
                 before_reply: Mapping[int, bytes] | None = None,
                 replace_reply: Mapping[int, bytes] | None = None,
                 abort_after_reply: int | None = None, **options: Any) -> None:
        super().__init__(env, **options)
        self.after_env = after_env
        self.before_reply = dict(before_reply or {})
        self.replace_reply = dict(replace_reply or {})
        self.abort_after_reply = abort_after_reply

    async def _send_environment(self) -> None:
        await super()._send_environment()
        if self.after_env and not (self.aborted or self.connection_lost):
            self._write(self.after_env)
            await self._drain()

    async def _send_reply(self, parts: list[bytes], number: int) -> None:
        if number in self.before_reply:
            self._write(self.before_reply[number])
            await self._drain()
        if number in self.replace_reply:
            parts = [self.replace_reply[number]]
        if not (self.aborted or self.connection_lost):
            await super()._send_reply(parts, number)
        if number == self.abort_after_reply and not self.aborted:
            self._abort()


class HostileChannel(Channel):
    """A dialplan channel whose n-th session of a script is played by a TamperedAsterisk:
    ``tamper={("route", 2): {"abort_at": "on_command", "abort_command": 3}}``."""

    def __init__(self, *args: Any, tamper: Mapping[tuple[str, int], Mapping[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tamper = dict(tamper or {})
        self.sessions_seen: Counter[str] = Counter()
        self.tampered: list[FakeAsterisk] = []

    def make_fake(self, script: str, env: dict[str, str], **options: Any) -> FakeAsterisk:
        self.sessions_seen[script] += 1
        extra = self.tamper.get((script, self.sessions_seen[script]))
        if extra is None:
            return FakeAsterisk(env, **options)
        fake = TamperedAsterisk(env, **options, **extra)
        self.tampered.append(fake)
        return fake


async def send_raw(port: int, payload: bytes, *, how: str = "half_close",
                   read_timeout: float = 10.0) -> tuple[bytes, float]:
    """Connect, send ``payload``, then ``how``: "half_close" (shut our write side, read until
    the server closes), "abort" (RST at once) or "wait" (keep sending nothing, read until the
    server closes). Returns what came back and how long the server took to close."""
    reader, writer = await asyncio.open_connection(HOST, port)
    started = time.monotonic()
    received = b""
    try:
        try:
            writer.write(payload)
            await writer.drain()
        except (ConnectionError, OSError):
            return received, time.monotonic() - started  # the server already closed on us
        if how == "abort":
            writer.transport.abort()
            return received, 0.0
        if how == "half_close" and writer.can_write_eof():
            try:
                writer.write_eof()
            except (ConnectionError, OSError):
                pass
        async with asyncio.timeout(read_timeout):
            while True:
                try:
                    chunk = await reader.read(65536)
                except (ConnectionError, OSError):
                    break
                if not chunk:
                    break
                received += chunk
        return received, time.monotonic() - started
    finally:
        writer.close()
