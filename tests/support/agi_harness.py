"""Helpers for FastAGI tests: a server on an ephemeral port, session records, raw peers.

pytest-asyncio is not installed: tests are plain functions that call ``asyncio.run``.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from app.agi import AGIServer, Handler, SessionRecord
from fake_asterisk.captures import EOF_NOTE, HALF_CLOSE_NOTE, CapturedSession
from fake_asterisk.fastagi import FakeAsterisk

HOST = "127.0.0.1"


@dataclass
class RunningServer:
    server: AGIServer
    records: list[SessionRecord] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    async def call(self, fake: FakeAsterisk, *, timeout: float = 10.0) -> FakeAsterisk:
        """Run one fake channel's session against the server."""
        return await fake.run(HOST, self.port, timeout=timeout)

    async def wait_records(self, count: int, timeout: float = 5.0) -> list[SessionRecord]:
        """Session records are written when the server's task ends, just after the peer's."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} session records, got {self.records!r}")
            await asyncio.sleep(0.005)
        return self.records

    async def last_record(self, timeout: float = 5.0) -> SessionRecord:
        await self.wait_records(len(self.records) or 1, timeout)
        return self.records[-1]


@asynccontextmanager
async def running_server(handlers: Mapping[str, Handler], *, grace: float = 5.0,
                         **options: object) -> AsyncIterator[RunningServer]:
    running = RunningServer(server=None)  # type: ignore[arg-type]
    server = AGIServer(handlers, host=HOST, port=0, on_session_end=running.records.append, **options)
    running.server = server
    await server.start()
    try:
        yield running
    finally:
        await server.stop(grace)


async def raw_peer(port: int, payload: bytes, *, read_timeout: float = 5.0,
                   close_after_send: bool = False) -> bytes:
    """Connect, send raw bytes, return whatever comes back until the server closes."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(payload)
        await writer.drain()
        if close_after_send:
            writer.transport.abort()
            return b""
        received = b""
        async with asyncio.timeout(read_timeout):
            while chunk := await _read_or_reset(reader):
                received += chunk
        return received
    finally:
        writer.close()


async def _read_or_reset(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(65536)
    except ConnectionResetError:
        return b""


def env_block(env: Mapping[str, str]) -> bytes:
    return b"".join(f"{key}: {value}\n".encode() for key, value in env.items()) + b"\n"


async def replay_capture(captured: CapturedSession, fake: FakeAsterisk,
                         *, step_timeout: float = 5.0) -> list[tuple[bytes, bytes]]:
    """Play the server's side of a capture (its S> bytes, half-close) against the fake.

    Returns (expected, received) for every A> chunk of the capture, read with
    ``readexactly`` so the fake must answer each command with exactly the captured bytes
    before the next command is sent; the last pair is the EOF check.
    """
    steps: list[tuple[bytes, bytes]] = []
    finished = asyncio.get_running_loop().create_future()

    async def play(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _, direction, data in captured.events:
                if direction == "A>":
                    try:
                        got = await asyncio.wait_for(reader.readexactly(len(data)), step_timeout)
                    except asyncio.IncompleteReadError as exc:
                        got = exc.partial
                    steps.append((data, got))
                    if got != data:
                        break
                elif direction == "S>":
                    writer.write(data)
                    await writer.drain()
                elif data == HALF_CLOSE_NOTE:
                    writer.write_eof()
                elif data == EOF_NOTE:
                    rest = await asyncio.wait_for(reader.read(), step_timeout)
                    steps.append((b"<EOF>", rest or b"<EOF>"))
            finished.set_result(None)
        except Exception as exc:  # surfaced to the test through the future
            finished.set_exception(exc)
        finally:
            writer.close()

    listener = await asyncio.start_server(play, HOST, 0)
    async with listener:
        port = listener.sockets[0].getsockname()[1]
        await asyncio.gather(fake.run(HOST, port, timeout=step_timeout * 4), finished)
    return steps
