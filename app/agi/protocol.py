"""The FastAGI wire protocol, as Asterisk 22 speaks it (see ASTERISK.md and the captures).

Everything byte-level lives here: reading the ``agi_*`` environment block, encoding one
command line, reading and classifying one reply. Nothing here knows about handlers or
servers; ``session.py`` builds the friendly API on top of :class:`AGIConnection`.

The rules that shaped this module, all observed on a real Asterisk 22.10.1:

* Lines end in a bare LF both ways. A CR we sent would stay inside the last argument, so
  command arguments may never contain CR, LF or NUL (that is also what keeps a value from
  injecting a second command).
* ``HANGUP`` lines arrive between replies whenever the caller hangs up, even before the reply
  to the command just sent, and once more after we half-close. They are skipped and counted.
* A ``520`` usage reply spans several lines written ~40 ms apart, so a reply is read against
  one generous deadline for the whole reply, never a short per-line timeout.
* Once a reply was not read completely (timeout, garbage, cancellation), the stream can no
  longer be trusted to pair commands with replies: the connection refuses further commands.
"""
from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping
from urllib.parse import parse_qsl

MAX_LINE_BYTES = 8192  # longest line accepted either way, LF included
MAX_HEADER_LINES = 128  # environment lines before the blank line (Asterisk sends ~22 + args)
# The whole environment block: Asterisk's is under 1 KiB plus the AGI() arguments. Without
# this, 128 lines of 8 KiB let every connection still sending its header pin 1 MiB.
# (Counted in decoded characters, LF included.)
MAX_HEADER_BYTES = 32 * 1024
MAX_REPLY_LINES = 128  # lines in one multi-line (520-) reply
DEFAULT_HEADER_TIMEOUT = 5.0  # seconds for the whole environment block
DEFAULT_COMMAND_TIMEOUT = 10.0  # seconds for one command's whole reply

HANGUP_LINE = "HANGUP"
TEXT_ENCODING = "utf-8"


# --------------------------------------------------------------------------- exceptions


class AGIError(Exception):
    """Base of every error this package raises about the AGI conversation."""


class AGIArgumentError(AGIError, ValueError):
    """A value cannot be sent safely (CR/LF/NUL inside it, or the line would be too long)."""


class AGIProtocolError(AGIError):
    """The peer sent something that is not FastAGI: garbage, an oversize line, no env block."""


class AGIConnectionLost(AGIProtocolError):
    """The peer closed or reset the connection before the expected line arrived."""


class AGITimeout(AGIError):
    """The environment block or a command's reply did not arrive in time."""


class AGICommandError(AGIError):
    """Asterisk answered a command with an error code. ``reply`` holds every line of it."""

    def __init__(self, command: str, reply: "AGIReply") -> None:
        super().__init__(f"{command!r} -> {reply.lines[0]!r}")
        self.command = command
        self.reply = reply

    @property
    def code(self) -> int:
        return self.reply.code


class AGIInvalidCommand(AGICommandError):
    """510: Asterisk does not know the command (a stray CR in the name also earns this)."""


class AGIDeadChannel(AGICommandError):
    """511: the command is not permitted on a dead channel (after HANGUP, or inside ``h``)."""


class AGIUsageError(AGICommandError):
    """520: wrong arguments for the command. ``usage`` is the synopsis Asterisk printed."""

    @property
    def usage(self) -> str:
        return "\n".join(self.reply.lines[1:-1])


_ERRORS_BY_CODE: Mapping[int, type[AGICommandError]] = {
    510: AGIInvalidCommand,
    511: AGIDeadChannel,
    520: AGIUsageError,
}


# --------------------------------------------------------------------------- environment


_ENV_KEY = re.compile(r"agi_[A-Za-z0-9_]+")


@dataclass(frozen=True)
class AGIEnvironment:
    """The ``agi_*`` block Asterisk sends first, keys kept verbatim and in arrival order."""

    values: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    @property
    def network_script(self) -> str:
        """Everything after the first ``/`` of the AGI URL: ``route?x=1`` (may be empty)."""
        return self.get("agi_network_script")

    @property
    def script(self) -> str:
        return self.network_script.partition("?")[0]

    @property
    def query(self) -> Mapping[str, str]:
        """Query parameters of the AGI URL; the last one wins when a key repeats."""
        query = self.network_script.partition("?")[2]
        return MappingProxyType(dict(parse_qsl(query, keep_blank_values=True)))

    @property
    def args(self) -> list[str]:
        """``agi_arg_1``, ``agi_arg_2``, … (the extra ``AGI()`` arguments), in order."""
        args = []
        while (value := self.values.get(f"agi_arg_{len(args) + 1}")) is not None:
            args.append(value)
        return args


def parse_environment_line(line: str) -> tuple[str, str]:
    """``agi_name: value`` -> (``agi_name``, ``value``). Asterisk always writes ``": "``."""
    key, separator, value = line.partition(":")
    if not separator or (key not in _KEYS_SEEN and not _valid_key(key)):
        raise AGIProtocolError(f"not an AGI environment line: {line[:80]!r}")
    return key, value[1:] if value.startswith(" ") else value


# Every session sends the same few dozen keys: each is checked against _ENV_KEY once.
_KEYS_SEEN: set[str] = set()
_MAX_KEYS_SEEN = 512


def _valid_key(key: str) -> bool:
    if not _ENV_KEY.fullmatch(key):
        return False
    if len(_KEYS_SEEN) < _MAX_KEYS_SEEN:
        _KEYS_SEEN.add(key)
    return True


async def read_environment(
    stream: "AGIStream",
    *,
    timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_lines: int = MAX_HEADER_LINES,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_bytes: int = MAX_HEADER_BYTES,
) -> AGIEnvironment:
    """Read the environment block up to its blank line, within one overall deadline.

    Asterisk writes the whole block at once, so it is usually parsed from one buffer in one
    pass; a peer that trickles it in is checked line by line as the lines complete."""
    values: dict[str, str] = {}
    size = lines = 0
    with stream.deadline(timeout, f"environment block not complete after {timeout} s"):
        while True:
            if not lines and (block := stream.next_block(max_line_bytes)) is not None:
                return _parse_environment_block(block, max_lines, max_bytes)
            while (line := stream.next_line(max_line_bytes)) is not None:
                if line == "":
                    return AGIEnvironment(MappingProxyType(values))
                lines += 1
                if lines > max_lines:
                    raise AGIProtocolError(f"environment block longer than {max_lines} lines")
                size += len(line) + 1
                if size > max_bytes:
                    raise AGIProtocolError(f"environment block longer than {max_bytes} bytes")
                key, value = parse_environment_line(line)
                values[key] = value
            await stream.wait_for_data()


def _parse_environment_block(lines: list[str], max_lines: int, max_bytes: int) -> AGIEnvironment:
    if len(lines) > max_lines:
        raise AGIProtocolError(f"environment block longer than {max_lines} lines")
    if sum(map(len, lines)) + len(lines) > max_bytes:
        raise AGIProtocolError(f"environment block longer than {max_bytes} bytes")
    return AGIEnvironment(MappingProxyType(dict(map(parse_environment_line, lines))))


# --------------------------------------------------------------------------- encoding

_FORBIDDEN_IN_LINE = ("\r", "\n", "\0")
_NEEDS_QUOTES = re.compile(r'[\s"\\]')


def _check_sendable(value: str) -> None:
    if any(char in value for char in _FORBIDDEN_IN_LINE):
        raise AGIArgumentError(f"CR, LF or NUL inside an AGI argument: {value[:80]!r}")


def quote_argument(value: str) -> str:
    """``a "b"`` -> ``"a \\"b\\""``: one argument for Asterisk's splitter, whatever it holds.

    Asterisk's ``parse_args`` groups ``"…"`` and treats ``\\`` as "take the next character
    literally" (inside quotes too), so escaping ``\\`` and ``"`` is exactly enough.
    """
    _check_sendable(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_argument(value: str | int) -> str:
    """A bare token when that is unambiguous (``CC_ACTION``, ``${UNIQUEID}``), else quoted."""
    text = str(value)
    _check_sendable(text)
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return quote_argument(text)


def encode_command(command: str, *arguments: str, max_line_bytes: int = MAX_LINE_BYTES) -> bytes:
    """Join already formatted pieces into one LF-terminated command line."""
    if not command or command[0] in " \t":
        raise AGIArgumentError(f"empty AGI command {command!r}")  # Asterisk would answer 510
    line = " ".join((command, *arguments)) if arguments else command
    _check_sendable(line)
    data = (line + "\n").encode(TEXT_ENCODING)
    if len(data) > max_line_bytes:
        raise AGIArgumentError(f"command line of {len(data)} bytes exceeds {max_line_bytes}")
    return data


# --------------------------------------------------------------------------- replies

_STATUS_LINE = re.compile(r"(?P<code>[0-9]{3})(?P<sep>[ -]|$)(?P<text>.*)", re.DOTALL)
_RESULT = re.compile(r"result=(?P<result>-?[0-9]+)(?: (?P<rest>.*))?", re.DOTALL)


@dataclass(frozen=True)
class AGIReply:
    """One reply. For ``200 result=1 (abc) endpos=0``: code 200, result 1, data ``abc``,
    extra ``endpos=0``. ``data`` is None when there were no parentheses at all."""

    code: int
    result: int | None = None
    data: str | None = None
    extra: str = ""
    lines: tuple[str, ...] = field(default=())

    @property
    def is_success(self) -> bool:
        return self.code == 200


def parse_status_line(line: str) -> tuple[int, bool, str]:
    """``520-text`` -> (520, True, ``text``): the code, "more lines follow", the rest."""
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise AGIProtocolError(f"not an AGI reply line: {line[:80]!r}")
    return int(match["code"]), match["sep"] == "-", match["text"]


def parse_result(text: str) -> tuple[int, str | None, str]:
    """``result=1 (a (b) c) endpos=3`` -> (1, ``a (b) c``, ``endpos=3``).

    GET VARIABLE writes ``(%s)`` with the raw value, which may itself hold parentheses, so
    the data runs to the last ``)`` on the line; whatever follows it is ``extra``.
    """
    match = _RESULT.fullmatch(text)
    if match is None:
        raise AGIProtocolError(f"200 reply without result=N: {text[:80]!r}")
    result, rest = int(match["result"]), match["rest"] or ""
    if rest.startswith("(") and ")" in rest:
        close = rest.rindex(")")
        return result, rest[1:close], rest[close + 1:].strip()
    return result, None, rest


# --------------------------------------------------------------------------- connection


class AGIStream(asyncio.Protocol):
    """One FastAGI connection's bytes: what the peer sent that nobody has read yet, and the
    transport to answer on.

    Lines are cut straight from one buffer (a whole environment block in one pass): asyncio's
    StreamReader costs a coroutine per line, and a session's plumbing was most of the
    server's CPU per call. Reading stops while more than ``max_buffer`` bytes wait, so a peer
    that floods us holds at most that much memory.
    """

    def __init__(self, *, on_connected: Callable[["AGIStream"], None] | None = None,
                 max_buffer: int = 2 * (MAX_HEADER_BYTES + MAX_LINE_BYTES)) -> None:
        self.transport: asyncio.Transport | None = None
        self._on_connected = on_connected
        self._max_buffer = max_buffer
        self._buffer = bytearray()
        self._eof = False
        self._lost: str | None = None  # why the connection ended, once it has
        self._reading_paused = False
        self._writing_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._deadline: float | None = None  # the event loop's clock; waits fail after it
        self._deadline_error = ""

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's too)
        if self._on_connected is not None:
            self._on_connected(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake(self._data_waiter)
        if len(self._buffer) > self._max_buffer and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake(self._data_waiter)
        return True  # the peer half-closed; we may still answer

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = f"connection lost: {exc}" if exc else "connection closed"
        self._wake(self._data_waiter)
        self._wake(self._drain_waiter)
        self._wake(self._closed)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake(self._drain_waiter)

    @staticmethod
    def _wake(waiter: "asyncio.Future[None] | None") -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading --------------------------------------------------------------------------

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def next_line(self, max_line_bytes: int = MAX_LINE_BYTES) -> str | None:
        """The next complete line without its LF (only the LF is stripped: a CR is data), or
        None until one has arrived. Raises when it cannot arrive: too long, or the peer gone."""
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) >= max_line_bytes:
                raise AGIProtocolError(f"line longer than {max_line_bytes} bytes")
            if self._eof:
                detail = f" after {len(self._buffer)} bytes of a line" if self._buffer else ""
                raise AGIConnectionLost(f"{self._lost or 'connection closed by peer'}{detail}")
            return None
        if end >= max_line_bytes:
            raise AGIProtocolError(f"line longer than {max_line_bytes} bytes")
        line = self._buffer[:end].decode(TEXT_ENCODING, errors="replace")
        del self._buffer[:end + 1]
        self._resume_reading()
        return line

    def next_block(self, max_line_bytes: int = MAX_LINE_BYTES) -> list[str] | None:
        """The lines up to the next blank line, when all of them have arrived and together
        are shorter than one line may be (so none is too long); else None, and nothing is
        taken: ``next_line`` then reads them one by one, checking each."""
        if self._buffer[:1] == b"\n":
            del self._buffer[:1]
            return []
        end = self._buffer.find(b"\n\n", 0, max_line_bytes)
        if end < 0:
            return None
        block = self._buffer[:end].decode(TEXT_ENCODING, errors="replace")
        del self._buffer[:end + 2]
        self._resume_reading()
        return block.split("\n")

    async def read_line(self, max_line_bytes: int = MAX_LINE_BYTES) -> str:
        while (line := self.next_line(max_line_bytes)) is None:
            await self.wait_for_data()
        return line

    async def read_until_eof(self, limit: int) -> bytes:
        """Everything up to the peer's EOF (or the first ``limit`` bytes of it)."""
        while not self._eof and len(self._buffer) < limit:
            await self.wait_for_data()
        data = bytes(self._buffer[:limit])
        del self._buffer[:limit]
        self._resume_reading()
        return data

    async def wait_for_data(self) -> None:
        """Until more bytes (or the EOF) arrive, or the deadline passes (AGITimeout)."""
        if self._eof:
            raise AGIConnectionLost(self._lost or "connection closed by peer")
        if self._data_waiter is not None:
            raise RuntimeError("two readers on one AGI stream")
        self._resume_reading()
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._wait(self._data_waiter)
        finally:
            self._data_waiter = None

    @contextmanager
    def deadline(self, seconds: float, error: str) -> Iterator[None]:
        """Inside the block, waiting for the peer fails with ``AGITimeout(error)`` once
        ``seconds`` have passed (checked every ``DEADLINE_TICK``: one timer per event loop, not
        one per wait, which cost more than the reading itself)."""
        outer = self._deadline, self._deadline_error
        self._deadline = asyncio.get_running_loop().time() + seconds
        self._deadline_error = error
        try:
            yield
        finally:
            self._deadline, self._deadline_error = outer

    async def _wait(self, waiter: "asyncio.Future[None]") -> None:
        if self._deadline is None:
            await waiter
            return
        watch = _deadline_watch(asyncio.get_running_loop())
        if not watch.add(self, waiter):
            raise AGITimeout(self._deadline_error)
        try:
            await waiter
        finally:
            watch.discard(self)

    def _time_out(self, waiter: "asyncio.Future[None]") -> None:
        if not waiter.done():
            waiter.set_exception(AGITimeout(self._deadline_error))

    def _resume_reading(self) -> None:
        if self._reading_paused and len(self._buffer) <= self._max_buffer and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()

    # -- writing and closing --------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._lost is not None or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError(self._lost or "connection closing")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport's buffer is over its high-water mark."""
        while self._writing_paused and self._lost is None:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None
        if self._lost is not None:
            raise ConnectionResetError(self._lost)

    @property
    def must_drain(self) -> bool:
        return self._writing_paused or self._lost is not None

    def write_eof(self) -> None:
        """Half-close: Asterisk answers with its trailing HANGUP, then closes."""
        if self.transport is not None and self.transport.can_write_eof() and not self.transport.is_closing():
            self.transport.write_eof()

    def peer(self) -> object:
        return self.transport.get_extra_info("peername") if self.transport is not None else None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once (no half-close); any read in progress fails."""
        if self.transport is not None:
            self.transport.abort()

    async def wait_closed(self) -> None:
        if self._lost is not None:
            return
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        await self._wait(self._closed)


DEADLINE_TICK = 0.05  # seconds: how late past its deadline a wait may fail


class _DeadlineWatch:
    """The streams of one event loop that wait under a deadline, and one timer that fails
    the overdue waits; it ticks only while somebody waits."""

    # No reference to its loop: the loop is the key it is kept under (weakly), so a loop that
    # ends takes its watch with it.
    def __init__(self) -> None:
        self.waiting: dict[AGIStream, asyncio.Future[None]] = {}
        self.timer: asyncio.TimerHandle | None = None

    def add(self, stream: AGIStream, waiter: "asyncio.Future[None]") -> bool:
        """False when the stream's deadline has already passed."""
        assert stream._deadline is not None
        loop = asyncio.get_running_loop()
        if loop.time() >= stream._deadline:
            return False
        self.waiting[stream] = waiter
        if self.timer is None:
            self.timer = loop.call_later(DEADLINE_TICK, self._tick)
        return True

    def discard(self, stream: AGIStream) -> None:
        self.waiting.pop(stream, None)

    def _tick(self) -> None:
        self.timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for stream, waiter in list(self.waiting.items()):
            if stream._deadline is None or now >= stream._deadline:
                del self.waiting[stream]
                stream._time_out(waiter)
        if self.waiting:
            self.timer = loop.call_later(DEADLINE_TICK, self._tick)


_deadline_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _DeadlineWatch]" = \
    weakref.WeakKeyDictionary()


def _deadline_watch(loop: asyncio.AbstractEventLoop) -> _DeadlineWatch:
    watch = _deadline_watches.get(loop)
    if watch is None:
        watch = _deadline_watches[loop] = _DeadlineWatch()
    return watch


class AGIConnection:
    """Sends commands and reads their replies on one FastAGI connection, strictly in turn.

    ``hangup_count`` counts the ``HANGUP`` lines seen so far; ``dead_seen`` records a 511.
    """

    def __init__(
        self,
        stream: AGIStream,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.stream = stream
        self.command_timeout = command_timeout
        self.max_line_bytes = max_line_bytes
        self.hangup_count = 0
        self.dead_seen = False
        # When we started waiting for the peer's reply (None: not waiting): a session stalled
        # on a silent peer is the first to go when the server runs out of session slots.
        self.waiting_since: float | None = None
        self._broken: str | None = None
        self._lock = asyncio.Lock()  # one command in flight: replies carry no id to pair them

    @property
    def usable(self) -> bool:
        """False once a reply went unread or the peer misbehaved: never guess the pairing."""
        return self._broken is None

    async def execute(self, line: bytes, *, timeout: float | None = None) -> AGIReply:
        """Send one encoded command line; return its 200 reply or raise the mapped error."""
        command = line.decode(TEXT_ENCODING, errors="replace").rstrip("\n")
        async with self._lock:
            if self._broken is not None:
                raise AGIProtocolError(f"connection unusable ({self._broken}); not sending {command!r}")
            try:
                self.stream.write(line)
                self.waiting_since = asyncio.get_running_loop().time()
                if self.stream.must_drain:
                    await self.stream.drain()
                reply = await self.read_reply(self.command_timeout if timeout is None else timeout)
                self.waiting_since = None
            except BaseException as exc:  # incl. cancellation: the reply may still be coming
                self.waiting_since = None
                self._broken = f"{type(exc).__name__} during {command!r}"
                if isinstance(exc, (ConnectionError, OSError)) and not isinstance(exc, TimeoutError):
                    raise AGIConnectionLost(f"connection lost sending {command!r}: {exc}") from exc
                raise
        if reply.code == 511:
            self.dead_seen = True
        if reply.code != 200:
            raise _ERRORS_BY_CODE.get(reply.code, AGICommandError)(command, reply)
        return reply

    async def read_reply(self, timeout: float) -> AGIReply:
        """Read one complete reply (skipping HANGUP lines) against a single deadline."""
        with self.stream.deadline(timeout, f"no complete reply within {timeout} s"):
            return await self._read_reply()

    async def _read_reply(self) -> AGIReply:
        line = await self._next_line_skipping_hangups()
        code, continued, text = parse_status_line(line)
        lines = [line]
        if continued:  # "520-…": body lines until one starting "520 "
            terminator = f"{code} "
            while True:
                more = await self._next_line_skipping_hangups()
                lines.append(more)
                if more.startswith(terminator):
                    break
                if len(lines) > MAX_REPLY_LINES:
                    raise AGIProtocolError(f"multi-line {code} reply longer than {MAX_REPLY_LINES} lines")
        if code != 200:
            return AGIReply(code=code, lines=tuple(lines))
        result, data, extra = parse_result(text)
        return AGIReply(code=code, result=result, data=data, extra=extra, lines=tuple(lines))

    async def _next_line_skipping_hangups(self) -> str:
        while True:
            line = await self.stream.read_line(self.max_line_bytes)
            if line != HANGUP_LINE:
                return line
            self.hangup_count += 1
