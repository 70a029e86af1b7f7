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
    if not separator or not _ENV_KEY.fullmatch(key):
        raise AGIProtocolError(f"not an AGI environment line: {line[:80]!r}")
    return key, value[1:] if value.startswith(" ") else value


async def read_environment(
    reader: asyncio.StreamReader,
    *,
    timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_lines: int = MAX_HEADER_LINES,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_bytes: int = MAX_HEADER_BYTES,
) -> AGIEnvironment:
    """Read the environment block up to its blank line, within one overall deadline."""
    values: dict[str, str] = {}
    size = 0
    try:
        async with asyncio.timeout(timeout):
            for _ in range(max_lines + 1):  # the blank line included
                line = await read_line(reader, max_line_bytes)
                if line == "":
                    return AGIEnvironment(MappingProxyType(values))
                size += len(line) + 1
                if size > max_bytes:
                    raise AGIProtocolError(f"environment block longer than {max_bytes} bytes")
                key, value = parse_environment_line(line)
                values[key] = value
    except TimeoutError:
        raise AGITimeout(f"environment block not complete after {timeout} s") from None
    raise AGIProtocolError(f"environment block longer than {max_lines} lines")


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


async def read_line(reader: asyncio.StreamReader, max_line_bytes: int = MAX_LINE_BYTES) -> str:
    """One LF-terminated line without its LF. Only the LF is stripped: a CR is data."""
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        detail = f" after {len(exc.partial)} bytes of a line" if exc.partial else ""
        raise AGIConnectionLost(f"connection closed by peer{detail}") from None
    except asyncio.LimitOverrunError:
        raise AGIProtocolError(f"line longer than {max_line_bytes} bytes") from None
    except (ConnectionError, OSError) as exc:
        raise AGIConnectionLost(f"connection lost: {exc}") from None
    if len(raw) > max_line_bytes:
        raise AGIProtocolError(f"line of {len(raw)} bytes exceeds {max_line_bytes}")
    return raw[:-1].decode(TEXT_ENCODING, errors="replace")


# --------------------------------------------------------------------------- connection


class AGIConnection:
    """Sends commands and reads their replies on one FastAGI connection, strictly in turn.

    ``hangup_count`` counts the ``HANGUP`` lines seen so far; ``dead_seen`` records a 511.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.reader = reader
        self.writer = writer
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
                self.writer.write(line)
                self.waiting_since = asyncio.get_running_loop().time()
                await self.writer.drain()
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
        try:
            async with asyncio.timeout(timeout):
                return await self._read_reply()
        except TimeoutError:
            raise AGITimeout(f"no complete reply within {timeout} s") from None

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
            line = await read_line(self.reader, self.max_line_bytes)
            if line != HANGUP_LINE:
                return line
            self.hangup_count += 1
