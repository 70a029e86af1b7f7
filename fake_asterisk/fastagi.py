"""A fake Asterisk 22.10.1 channel that speaks FastAGI over a real TCP connection.

It is meant to be no kinder than the real one (ASTERISK.md, asterisk-captures/). What it
models, each as res_agi.c does it and as the captures show:

* the environment block, key order as sent (``agi_arg_N`` after ``agi_threadid``), split
  over two writes like the captured recv() chunks, ended by a blank line;
* the command line read up to LF only (a CR stays in the last argument) and split by a port
  of ``parse_args`` (spaces/tabs, ``"…"`` groups, ``\\`` escapes the next byte, ``""`` is an
  empty argument, at most 128 arguments); command words matched case-insensitively with
  ``find_command``'s prefix rule; an unknown command or an empty line earns 510;
* dead mode (inside ``h``, or after a caller hangup): only EXEC, GET/GET FULL/SET VARIABLE,
  VERBOSE, NOOP and DATABASE * run, everything else earns 511 (a 510 still wins for unknown
  commands, and the permission check comes before the argument check);
* 520 usage replies as three separate writes, the 2nd and 3rd ``usage_delay`` later;
* channel variables (unset -> ``200 result=0``, empty -> ``200 result=1 ()``), functions
  (names ending in ``)``), read-only builtins (UNIQUEID, CHANNEL, EXTEN, …, HANGUPCAUSE),
  GET VARIABLE truncation to 1023 bytes (Asterisk copies into ``char[1024]``), ``${…}``
  substitution for GET FULL VARIABLE, EXEC with per-application results (-2 if unknown),
  DATABASE GET/PUT/DEL/DELTREE on an in-memory AstDB, STREAM FILE (missing file:
  ``200 result=-1 endpos=0`` and AGISTATUS FAILURE), ANSWER, CHANNEL STATUS, HANGUP;
* a scripted caller hangup before command k: ``HANGUP`` sent while the server is silent
  (capture B1), or after command k arrived and before its reply, which then follows
  ``reply_delay_after_hangup`` later (capture E1);
* the trailing ``HANGUP`` after the server closes or half-closes (every session), then EOF;
* a line starting with ``failure`` ends the session with AGISTATUS FAILURE.

Not modelled: ``$[…]`` expressions and ``${VAR:offset:len}`` substrings in GET FULL
VARIABLE (left literal), audio, DTMF, SAY/GET DATA/RECORD and the other media commands on a
live channel (they answer ``200 result=0`` and are listed in ``unmodelled``; ``strict``
makes :meth:`FakeAsterisk.run` fail when one was used), Async AGI.

Usage texts: only SET VARIABLE's (``Sets a variable to the current channel.``) was
captured; the others are Asterisk's XML descriptions as best known, not byte-verified.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Union

MAX_ARGS = 128
COMMAND_BUFFER = 8192  # a longer line is cut: the rest is read as the next command
VALUE_MAX_BYTES = 1023  # GET VARIABLE: char tempstr[1024], NUL included

REPLY_INVALID = b"510 Invalid or unknown command\n"
REPLY_DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"
USAGE_HEAD = b"520-Invalid command syntax.  Proper usage follows:\n"
USAGE_TAIL = b"520 End of proper usage.\n"
HANGUP = b"HANGUP\n"

ENV_FIRST_WRITE_LINES = 17  # the captured first recv() chunk ended after agi_context

FunctionValue = Union[str, None, Callable[["FakeAsterisk"], Union[str, None]]]
AppResult = Union[int, Callable[["FakeAsterisk", str], int]]


def make_env(
    script: str = "route",
    *,
    uniqueid: str = "pbx-a-1795512212.1",
    extension: str = "14155550100",
    channel: str | None = None,
    callerid: str = "unknown",
    calleridname: str = "unknown",
    dnid: str = "unknown",
    context: str = "cc-inbound",
    priority: str | None = None,
    args: Iterable[str] = (),
    server: str = "127.0.0.1:4573",
) -> dict[str, str]:
    """An environment shaped exactly like the captured ones (Local channel by default), its
    keys in the order Asterisk 22.10.1 writes them; agi_arg_N follow."""
    values = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://{server}/{script}",
        "agi_channel": channel or f"Local/{extension}@{context}-00000000;2",
        "agi_language": "en",
        "agi_type": (channel or "Local/").split("/")[0],
        "agi_uniqueid": uniqueid,
        "agi_version": "22.10.1",
        "agi_callerid": callerid,
        "agi_calleridname": calleridname,
        "agi_callingpres": "67" if callerid == "unknown" else "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": dnid,
        "agi_rdnis": "unknown",
        "agi_context": context,
        "agi_extension": extension,
        "agi_priority": priority or ("1" if extension == "h" else "2"),
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "139900878350016",
    }
    for number, value in enumerate(args, start=1):
        values[f"agi_arg_{number}"] = value
    return values


def split_arguments(line: bytes) -> list[bytes]:
    """Asterisk's ``parse_args`` (res_agi.c), byte for byte."""
    argv: list[bytearray] = []
    quoted = escaped = False
    whitespace = True
    for byte in line:
        if byte == 0x22 and not escaped:  # '"'
            quoted = not quoted
            if quoted and whitespace:  # an opening quote after whitespace starts a word
                argv.append(bytearray())
                whitespace = False
            continue
        if byte in (0x20, 0x09) and not quoted and not escaped:  # ' ', '\t'
            whitespace = True
            continue
        if byte == 0x5C and not escaped:  # '\\'
            escaped = True
            continue
        if whitespace:
            if len(argv) >= MAX_ARGS - 1:
                continue  # "Too many arguments, truncating": the byte is dropped
            argv.append(bytearray())
            whitespace = False
        argv[-1].append(byte)
        escaped = False
    return [bytes(word) for word in argv]


@dataclass(frozen=True)
class _Command:
    words: tuple[bytes, ...]
    dead_ok: bool
    usage: tuple[bytes, ...]
    method: str | None  # None: known to Asterisk, not modelled by the fake


def _cmd(words: str, dead_ok: bool, usage: str | tuple[str, ...], method: str | None = None) -> _Command:
    lines = (usage,) if isinstance(usage, str) else usage
    return _Command(tuple(words.lower().encode().split()), dead_ok, tuple(l.encode() for l in lines), method)


COMMANDS = (
    _cmd("answer", False, "Answer channel", "_answer"),
    _cmd("asyncagi break", False, "Interrupts Async AGI"),
    _cmd("channel status", False, "Returns status of the connected channel.", "_channel_status"),
    _cmd("database del", True, "Removes database key/value", "_database_del"),
    _cmd("database deltree", True, "Removes database keytree/value", "_database_deltree"),
    _cmd("database get", True, "Gets database value", "_database_get"),
    _cmd("database put", True, "Adds/updates database value", "_database_put"),
    _cmd("exec", True, "Executes a given Application", "_exec"),
    _cmd("get data", False, "Prompts for DTMF on a channel"),
    _cmd("get full variable", True, "Evaluates a channel expression", "_get_full_variable"),
    _cmd("get option", False, "Stream file, prompt for DTMF, with timeout."),
    _cmd("get variable", True, (
        "Returns 0 if variablename is not set. Returns 1 if variablename is set and returns the variable in parentheses.",
        "Example return code: 200 result=1 (testvariable)"), "_get_variable"),
    _cmd("hangup", False, "Hangup a channel.", "_hangup"),
    _cmd("noop", True, "Does nothing.", "_noop"),
    _cmd("receive char", False, "Receives one character from channels supporting it."),
    _cmd("receive text", False, "Receives text from channels supporting it."),
    _cmd("record file", False, "Records to a given file."),
    _cmd("say alpha", False, "Says a given character string."),
    _cmd("say digits", False, "Says a given digit string."),
    _cmd("say number", False, "Says a given number."),
    _cmd("say phonetic", False, "Says a given character string with phonetics."),
    _cmd("say date", False, "Says a given date."),
    _cmd("say time", False, "Says a given time."),
    _cmd("say datetime", False, "Says a given time as specified by the format given."),
    _cmd("send image", False, "Sends images to channels supporting it."),
    _cmd("send text", False, "Sends text to channels supporting it."),
    _cmd("set autohangup", False, "Autohangup channel in some time."),
    _cmd("set callerid", False, "Sets callerid for the current channel."),
    _cmd("set context", False, "Sets channel context."),
    _cmd("set extension", False, "Changes channel extension."),
    _cmd("set music", False, "Enable/Disable Music on hold generator"),
    _cmd("set priority", False, "Set channel dialplan priority."),
    _cmd("set variable", True, "Sets a variable to the current channel.", "_set_variable"),  # captured
    _cmd("stream file", False, "Sends audio file on channel.", "_stream_file"),
    _cmd("control stream file", False, "Sends audio file on channel and allows the listener to control the stream."),
    _cmd("tdd mode", False, "Toggles TDD mode (for the deaf)."),
    _cmd("verbose", True, "Logs a message to the asterisk verbose log.", "_verbose"),
    _cmd("wait for digit", False, "Waits for a digit to be pressed."),
    _cmd("speech create", False, "Creates a speech object."),
    _cmd("speech set", False, "Sets a speech engine setting."),
    _cmd("speech destroy", False, "Destroys a speech object."),
    _cmd("speech load grammar", False, "Loads a grammar."),
    _cmd("speech unload grammar", False, "Unloads a grammar."),
    _cmd("speech activate grammar", False, "Activates a grammar."),
    _cmd("speech deactivate grammar", False, "Deactivates a grammar."),
    _cmd("speech recognize", False, "Recognizes speech."),
    _cmd("gosub", False, "Cause the channel to execute the specified dialplan subroutine."),
)


def find_command(argv: list[bytes]) -> _Command | None:
    """``find_command(argv, 0)``: every word of the command must be present (any case)."""
    for command in COMMANDS:
        if len(argv) >= len(command.words) and all(
                word.lower() == expected for word, expected in zip(argv, command.words)):
            return command
    return None


def _is_false(value: bytes | None) -> bool:
    """Asterisk's ast_false()."""
    return value is not None and value.strip().lower() in (b"no", b"false", b"n", b"f", b"0", b"off")


def _wire(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _default_apps() -> dict[str, AppResult]:
    return {"Verbose": 0, "NoOp": 0, "Wait": 0, "Answer": 0, "Set": _app_set, "Hangup": _app_hangup}


def _app_set(fake: "FakeAsterisk", arguments: str) -> int:
    name, _, value = arguments.partition("=")
    fake._set_variable_value(_wire(name), _wire(value))
    return 0


def _app_hangup(fake: "FakeAsterisk", arguments: str) -> int:
    fake._hangup_requested = True
    return -1


class FakeAsterisk:
    """One fake channel running one FastAGI session. ``await fake.run(host, port)``, then
    inspect ``transcript``, ``variables``, ``agistatus`` and friends."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        args: Iterable[str] | None = None,
        variables: Mapping[str, str] | None = None,
        functions: Mapping[str, FunctionValue] | None = None,
        dead: bool | None = None,
        hangup_cause: str = "0",
        apps: Mapping[str, AppResult] | None = None,
        sound_files: Mapping[str, int] | None = None,
        caller_hangup_before: int | None = None,
        hangup_timing: str = "idle",
        hangup_delay: float = 0.0,
        reply_delay_after_hangup: float = 0.04,
        usage_delay: float = 0.04,
        abort_at: str | None = None,
        abort_command: int = 1,
        strict: bool = True,
    ) -> None:
        """
        env: the ``agi_*`` block, in order. ``args`` replaces any ``agi_arg_N`` in it.
        dead: the channel is already hung up (default: when ``agi_extension`` is ``h``).
        caller_hangup_before: the caller hangs up before command k (1-based) is answered;
            ``hangup_timing`` "idle" writes HANGUP ``hangup_delay`` after the reply to
            command k-1 (after the env block for k=1), "before_reply" writes it once
            command k arrived, and the reply ``reply_delay_after_hangup`` later.
        abort_at: drop the connection abruptly: "mid_env", "after_env", "on_command"
            (command ``abort_command`` arrives, no reply), "mid_reply" (first part of
            that reply only), or "before_trailing_hangup".
        """
        if hangup_timing not in ("idle", "before_reply"):
            raise ValueError(f"hangup_timing must be 'idle' or 'before_reply', not {hangup_timing!r}")
        if abort_at not in (None, "mid_env", "after_env", "on_command", "mid_reply", "before_trailing_hangup"):
            raise ValueError(f"unknown abort_at {abort_at!r}")
        self.env = dict(env)
        if args is not None:
            self.env = {k: v for k, v in self.env.items() if not k.startswith("agi_arg_")}
            self.env.update({f"agi_arg_{n}": value for n, value in enumerate(args, start=1)})
        self.dead = (self.env.get("agi_extension") == "h") if dead is None else dead
        if self.dead and caller_hangup_before is not None:
            raise ValueError("a dead channel cannot hang up again")
        self._variables = {_wire(k): _wire(v) for k, v in (variables or {}).items()}
        self._functions: dict[bytes, FunctionValue] = self._default_functions()
        self._functions.update({_wire(k): v for k, v in (functions or {}).items()})
        self.hangup_cause = hangup_cause
        self.apps = {name.lower(): result for name, result in {**_default_apps(), **(apps or {})}.items()}
        self.sound_files = dict(sound_files or {})
        self.caller_hangup_before = caller_hangup_before
        self.hangup_timing = hangup_timing
        self.hangup_delay = hangup_delay
        self.reply_delay_after_hangup = reply_delay_after_hangup
        self.usage_delay = usage_delay
        self.abort_at = abort_at
        self.abort_command = abort_command
        self.strict = strict
        # Results.
        self.transcript: list[tuple[float, str, bytes]] = []
        self.commands: list[bytes] = []
        self.agistatus = "SUCCESS"
        self.eof_from_server = False
        self.trailing_hangup_sent = False
        self.inline_hangups_sent = 0
        self.aborted = False
        self.connection_lost = False
        self.verbose_messages: list[tuple[str, int]] = []
        self.exec_calls: list[tuple[str, str]] = []
        self.astdb: dict[tuple[bytes, bytes], bytes] = {}
        self.unmodelled: list[bytes] = []
        # Internals.
        self._send_sighup = not _is_false(self._variables.get(b"AGISIGHUP"))
        self._hangup_requested = False
        self._hangup_timer: asyncio.Task[None] | None = None
        self._started = 0.0
        self._writer: asyncio.StreamWriter | None = None

    # ------------------------------------------------------------------ results

    @property
    def variables(self) -> dict[str, str]:
        """Channel variables at the end of the session (what ``h`` would see)."""
        return {_text(k): _text(v) for k, v in self._variables.items()}

    @property
    def asterisk_bytes(self) -> bytes:
        return b"".join(data for _, direction, data in self.transcript if direction == "A>")

    @property
    def server_bytes(self) -> bytes:
        return b"".join(data for _, direction, data in self.transcript if direction == "S>")

    @property
    def hangups_sent(self) -> int:
        return self.inline_hangups_sent + int(self.trailing_hangup_sent)

    # ------------------------------------------------------------------ running

    async def run(self, host: str, port: int, *, timeout: float = 10.0) -> "FakeAsterisk":
        self._started = time.monotonic()
        async with asyncio.timeout(timeout):
            reader, self._writer = await asyncio.open_connection(host, port, limit=COMMAND_BUFFER - 1)
            try:
                await self._conversation(reader)
            finally:
                self._cancel_hangup_timer()
                if not self.aborted:
                    self._writer.close()
                    try:
                        await self._writer.wait_closed()
                    except (ConnectionError, OSError):
                        pass
        if self.strict and self.unmodelled:
            raise AssertionError(f"fake Asterisk does not model live-channel commands {self.unmodelled!r}")
        return self

    async def _conversation(self, reader: asyncio.StreamReader) -> None:
        await self._send_environment()
        if self.aborted or self.connection_lost:
            return
        if self.abort_at == "after_env":
            return self._abort()
        self._arm_caller_hangup(next_command=1)
        while True:
            line, at_eof = await self._read_command(reader)
            if line is None:
                self.eof_from_server = True
                break
            self.commands.append(line.removesuffix(b"\n"))
            number = len(self.commands)
            if number == self.caller_hangup_before:
                self._cancel_hangup_timer()
                self._caller_hangs_up()
                if self.hangup_timing == "before_reply":
                    await self._drain()
                    await asyncio.sleep(self.reply_delay_after_hangup)
            if self.abort_at == "on_command" and number == self.abort_command:
                return self._abort()
            if line[:7].lower() == b"failure":  # res_agi: the script reports its own failure
                self.agistatus = "FAILURE"
                break
            await self._send_reply(self._handle(line.removesuffix(b"\n")), number)
            if self.aborted or self.connection_lost:
                return
            if self._hangup_requested:  # HANGUP command / Hangup app: Asterisk notices next loop
                self._hangup_requested = False
                self._caller_hangs_up()
            if at_eof:
                self.eof_from_server = True
                break
            self._arm_caller_hangup(next_command=number + 1)
        self._cancel_hangup_timer()
        if self.abort_at == "before_trailing_hangup":
            return self._abort()
        if self._send_sighup:  # written after the server's EOF, live channel or not
            self._write(HANGUP)
            self.trailing_hangup_sent = True
            await self._drain()

    async def _send_environment(self) -> None:
        lines = [_wire(f"{key}: {value}\n") for key, value in self.env.items()]
        block = b"".join(lines) + b"\n"
        if self.abort_at == "mid_env":
            self._write(block[: len(block) // 2])
            await self._drain()
            return self._abort()
        first = b"".join(lines[:ENV_FIRST_WRITE_LINES])
        self._write(first)
        await self._drain()
        await asyncio.sleep(0)
        self._write(block[len(first):])
        await self._drain()

    async def _read_command(self, reader: asyncio.StreamReader) -> tuple[bytes | None, bool]:
        """One command as fgets() sees it: up to LF, or what was left at EOF."""
        try:
            line = await reader.readuntil(b"\n")
            at_eof = False
        except asyncio.IncompleteReadError as exc:
            line, at_eof = exc.partial, True  # a last line without LF is still executed
        except asyncio.LimitOverrunError:
            line, at_eof = await reader.readexactly(COMMAND_BUFFER), False
        except (ConnectionError, OSError):
            line, at_eof = b"", True
        if line:
            self._record("S>", line)
        return (line or None), at_eof

    # ------------------------------------------------------------------ writing

    def _record(self, direction: str, data: bytes) -> None:
        self.transcript.append(((time.monotonic() - self._started) * 1000, direction, data))

    def _write(self, data: bytes) -> None:
        assert self._writer is not None
        if self._writer.is_closing():
            self.connection_lost = True
            return
        self._writer.write(data)
        self._record("A>", data)

    async def _drain(self) -> None:
        assert self._writer is not None
        try:
            await self._writer.drain()
        except (ConnectionError, OSError):
            self.connection_lost = True

    def _abort(self) -> None:
        assert self._writer is not None
        self.aborted = True
        self._record("--", b"<abort>")
        self._writer.transport.abort()

    async def _send_reply(self, parts: list[bytes], number: int) -> None:
        if self.abort_at == "mid_reply" and number == self.abort_command:
            self._write(parts[0] if len(parts) > 1 else parts[0][: len(parts[0]) // 2])
            await self._drain()
            return self._abort()
        self._write(parts[0])
        await self._drain()
        if len(parts) > 1:  # each line is its own write(); Nagle + delayed ACK spaced them
            await asyncio.sleep(self.usage_delay)
            for part in parts[1:]:
                self._write(part)
                await self._drain()

    # ------------------------------------------------------------------ caller hangup

    def _arm_caller_hangup(self, next_command: int) -> None:
        if self.caller_hangup_before != next_command or self.hangup_timing != "idle":
            return
        if self.hangup_delay <= 0:
            self._caller_hangs_up()
        else:
            self._hangup_timer = asyncio.create_task(self._caller_hangs_up_later())

    async def _caller_hangs_up_later(self) -> None:
        await asyncio.sleep(self.hangup_delay)
        self._caller_hangs_up()
        await self._drain()

    def _cancel_hangup_timer(self) -> None:
        if self._hangup_timer is not None and not self._hangup_timer.done():
            self._hangup_timer.cancel()
        self._hangup_timer = None

    def _caller_hangs_up(self) -> None:
        """The channel goes away: one inline HANGUP, dead mode, AGISTATUS HANGUP."""
        if self.dead:
            return
        self.dead = True
        if self.agistatus == "SUCCESS":
            self.agistatus = "HANGUP"
        if self._send_sighup:
            self._write(HANGUP)
            self.inline_hangups_sent += 1

    # ------------------------------------------------------------------ commands

    def reply_to(self, line: bytes) -> bytes:
        """The full reply to one command line, for drivers other than TCP (plain AGI pipes)."""
        self.commands.append(line)
        return b"".join(self._handle(line))

    def _handle(self, line: bytes) -> list[bytes]:
        argv = split_arguments(line)
        command = find_command(argv)
        if command is None:
            return [REPLY_INVALID]
        if self.dead and not command.dead_ok:
            return [REPLY_DEAD]
        if command.method is None:
            self.unmodelled.append(line)
            return [b"200 result=0\n"]
        reply = getattr(self, command.method)(argv)
        if reply is None:  # RESULT_SHOWUSAGE
            return [USAGE_HEAD, *(usage + b"\n" for usage in command.usage), USAGE_TAIL]
        return [reply]

    def _get_variable(self, argv: list[bytes]) -> bytes | None:
        if len(argv) != 3:
            return None
        value = self._read_value(argv[2])
        if value is None:
            return b"200 result=0\n"
        return b"200 result=1 (" + value[:VALUE_MAX_BYTES] + b")\n"

    def _get_full_variable(self, argv: list[bytes]) -> bytes | None:
        if len(argv) not in (4, 5):
            return None
        if len(argv) == 5 and argv[4] != _wire(self.env.get("agi_channel", "")):
            return b"200 result=0\n"  # no such channel
        return b"200 result=1 (" + self._substitute(argv[3]) + b")\n"

    def _set_variable(self, argv: list[bytes]) -> bytes | None:
        if len(argv) != 4:
            return None
        self._set_variable_value(argv[2], argv[3])
        return b"200 result=1\n"

    def _verbose(self, argv: list[bytes]) -> bytes | None:
        if len(argv) < 2:
            return None
        level = argv[2] if len(argv) > 2 else b"1"
        self.verbose_messages.append((_text(argv[1]), int(level) if level.lstrip(b"-").isdigit() else 1))
        return b"200 result=1\n"

    def _noop(self, argv: list[bytes]) -> bytes:
        return b"200 result=0\n"

    def _exec(self, argv: list[bytes]) -> bytes | None:
        if len(argv) < 2:
            return None
        application, arguments = _text(argv[1]), _text(argv[2]) if len(argv) > 2 else ""
        self.exec_calls.append((application, arguments))
        result = self.apps.get(application.lower())
        if result is None:
            return b"200 result=-2\n"
        value = result(self, arguments) if callable(result) else result
        return b"200 result=%d\n" % value

    def _stream_file(self, argv: list[bytes]) -> bytes | None:
        if len(argv) not in (4, 5):
            return None
        endpos = self.sound_files.get(_text(argv[2]))
        if endpos is None:
            self.agistatus = "FAILURE"  # the handler returns RESULT_FAILURE on a live channel
            return b"200 result=-1 endpos=0\n"
        return b"200 result=0 endpos=%d\n" % endpos

    def _answer(self, argv: list[bytes]) -> bytes:
        return b"200 result=0\n"

    def _channel_status(self, argv: list[bytes]) -> bytes:
        return b"200 result=6\n"  # AST_STATE_UP

    def _hangup(self, argv: list[bytes]) -> bytes:
        if len(argv) > 1 and argv[1] != _wire(self.env.get("agi_channel", "")):
            return b"200 result=-1\n"
        self._hangup_requested = True
        return b"200 result=1\n"

    def _database_get(self, argv: list[bytes]) -> bytes | None:
        if len(argv) != 4:
            return None
        value = self.astdb.get((argv[2], argv[3]))
        return b"200 result=0\n" if value is None else b"200 result=1 (" + value + b")\n"

    def _database_put(self, argv: list[bytes]) -> bytes | None:
        if len(argv) != 5:
            return None
        self.astdb[(argv[2], argv[3])] = argv[4]
        return b"200 result=1\n"

    def _database_del(self, argv: list[bytes]) -> bytes | None:
        if len(argv) != 4:
            return None
        return b"200 result=1\n" if self.astdb.pop((argv[2], argv[3]), None) is not None else b"200 result=0\n"

    def _database_deltree(self, argv: list[bytes]) -> bytes | None:
        if len(argv) not in (3, 4):
            return None
        family, prefix = argv[2], argv[3] if len(argv) == 4 else b""
        doomed = [key for key in self.astdb if key[0] == family and key[1].startswith(prefix)]
        for key in doomed:
            del self.astdb[key]
        return b"200 result=1\n" if doomed else b"200 result=0\n"

    # ------------------------------------------------------------------ values

    def _default_functions(self) -> dict[bytes, FunctionValue]:
        def known(key: str) -> str:
            value = self.env.get(key, "unknown")
            return "" if value == "unknown" else value

        return {
            b"CALLERID(num)": lambda fake: known("agi_callerid"),
            b"CALLERID(name)": lambda fake: known("agi_calleridname"),
            b"CHANNEL(name)": lambda fake: fake.env.get("agi_channel", ""),
            b"CHANNEL(uniqueid)": lambda fake: fake.env.get("agi_uniqueid", ""),
            b"CHANNEL(linkedid)": lambda fake: fake.env.get("agi_uniqueid", ""),
        }

    def _builtin(self, name: bytes) -> bytes | None:
        """pbx_retrieve_variable's builtins; they win over channel variables of that name."""
        env = self.env.get
        values = {
            b"CHANNEL": env("agi_channel"), b"UNIQUEID": env("agi_uniqueid"),
            b"EXTEN": env("agi_extension"), b"CONTEXT": env("agi_context"),
            b"PRIORITY": env("agi_priority"), b"HANGUPCAUSE": self.hangup_cause,
        }
        value = values.get(name)
        return None if value is None else _wire(value)

    def _read_value(self, name: bytes) -> bytes | None:
        if name.endswith(b")"):  # a function: CHANNEL(linkedid), CDR(start,u), …
            function = self._functions.get(name)
            value = function(self) if callable(function) else function
            return None if value is None else _wire(value)
        builtin = self._builtin(name)
        return builtin if builtin is not None else self._variables.get(name)

    def _set_variable_value(self, name: bytes, value: bytes) -> None:
        if name.startswith(b"ARRAY(") and name.endswith(b")"):
            # func_strings.c: the names and the value split on commas; a name left without a
            # value is set to the empty string. (Quotes and backslashes are syntax there too.)
            values = value.split(b",")
            for index, each in enumerate(name[6:-1].split(b",")):
                self._set_variable_value(each.strip(), values[index] if index < len(values) else b"")
            return
        if name.endswith(b")"):
            self._functions[name] = _text(value)
            return
        for _ in range(2):  # "_X" and "__X" are inheritance marks, not part of the name
            name = name[1:] if name.startswith(b"_") else name
        self._variables[name] = value

    def _substitute(self, text: bytes) -> bytes:
        """``${NAME}`` / ``${FUNC(args)}``, nested, unset -> empty (pbx_substitute_variables)."""
        out = bytearray()
        position = 0
        while (start := text.find(b"${", position)) >= 0:
            out += text[position:start]
            depth, cursor = 1, start + 2
            while cursor < len(text) and depth:
                if text.startswith(b"${", cursor):
                    depth, cursor = depth + 1, cursor + 2
                    continue
                if text[cursor] == 0x7D:  # '}'
                    depth -= 1
                cursor += 1
            if depth:  # unterminated: kept literally
                out += text[start:]
                return bytes(out)
            out += self._read_value(self._substitute(text[start + 2:cursor - 1])) or b""
            position = cursor
        out += text[position:]
        return bytes(out)
