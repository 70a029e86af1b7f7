"""What a handler sees of one FastAGI call: the channel's environment and a few commands.

Handlers (``route``, ``attempt_result``, ``hangup``) receive an :class:`AGISession` and only
ever need these methods; the byte-level rules live in ``protocol.py``.
"""
from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from app.agi.protocol import (
    AGIConnection,
    AGIEnvironment,
    AGIReply,
    encode_command,
    format_argument,
    quote_argument,
)

T = TypeVar("T")
BlockingRunner = Callable[[Callable[[], Any]], Awaitable[Any]]  # runs a call off the event loop

_UNSET_WORDS = ("unknown", "")  # Asterisk writes "unknown" for an unset caller id / dnid / rdnis
_ARRAY_SYNTAX = re.compile(r'[,"\\]')  # what ARRAY() would read as syntax in a value


def _known(value: str) -> str | None:
    return None if value in _UNSET_WORDS else value


class AGISession:
    """One FastAGI session: environment accessors plus the commands our handlers use."""

    def __init__(
        self,
        connection: AGIConnection,
        environment: AGIEnvironment,
        *,
        run_blocking: BlockingRunner | None = None,
        arrived_at: float | None = None,
    ) -> None:
        self.connection = connection
        self.env = environment
        self._run_blocking = run_blocking
        # When the server accepted the connection (the event loop's clock): a route's time
        # budget counts from here, so time lost queueing in a busy server counts too.
        self.arrived_at = arrived_at

    # ------------------------------------------------------------------ environment

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid")

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel")

    @property
    def callerid(self) -> str | None:
        """Caller number; None when Asterisk says ``unknown`` (``anonymous`` is kept)."""
        return _known(self.env.get("agi_callerid"))

    @property
    def calleridname(self) -> str | None:
        return _known(self.env.get("agi_calleridname"))

    @property
    def dnid(self) -> str | None:
        """Dialled number; ``unknown`` on Local channels, hence None."""
        return _known(self.env.get("agi_dnid"))

    @property
    def rdnis(self) -> str | None:
        return _known(self.env.get("agi_rdnis"))

    @property
    def extension(self) -> str:
        """The dialled number in ``route``; ``h`` inside the hangup extension."""
        return self.env.get("agi_extension")

    @property
    def context(self) -> str:
        return self.env.get("agi_context")

    @property
    def priority(self) -> str:
        return self.env.get("agi_priority")

    @property
    def request(self) -> str:
        return self.env.get("agi_request")

    @property
    def script(self) -> str:
        return self.env.script

    @property
    def query(self) -> Mapping[str, str]:
        return self.env.query

    @property
    def args(self) -> list[str]:
        return self.env.args

    @property
    def hung_up(self) -> bool:
        """True once Asterisk told us the channel is gone (an inline HANGUP, or a 511).

        It reflects what has been read so far: a HANGUP sent while we were silent is only
        seen with the next reply. Inside the ``h`` extension the channel is dead from the
        start, which ``extension == "h"`` tells.
        """
        return self.connection.hangup_count > 0 or self.connection.dead_seen

    # ------------------------------------------------------------------ commands

    async def command(self, command: str, *arguments: str | int, timeout: float | None = None) -> AGIReply:
        """Any AGI command: ``command("STREAM FILE", "beep", "")``. Arguments are quoted as
        needed; ``command`` is sent verbatim (it is the command's words, not data)."""
        line = encode_command(command, *(format_argument(a) for a in arguments),
                              max_line_bytes=self.connection.max_line_bytes)
        return await self.connection.execute(line, timeout=timeout)

    async def get_variable(self, name: str) -> str | None:
        """Channel variable or function (``CHANNEL(linkedid)``); None when unset, ``""`` when
        empty. Asterisk truncates values to 1023 bytes."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == 1 else None

    async def get_full_variable(self, expression: str) -> str | None:
        """Evaluate an expression with ``${…}`` substitution, e.g. ``${CDR(start)}``."""
        reply = await self.command("GET FULL VARIABLE", expression)
        return reply.data if reply.result == 1 else None

    async def set_variable(self, name: str, value: str | int) -> None:
        # SET VARIABLE needs exactly two tokens, so the value is always quoted.
        await self._execute("SET VARIABLE", format_argument(name), quote_argument(str(value)))

    async def set_variables(self, values: Mapping[str, str | int]) -> None:
        """Set several variables in one command, in order: ``SET VARIABLE`` of Asterisk's
        ``ARRAY(A,B,…)`` function with the comma-separated values. Asterisk splits the value
        on commas and treats quotes and backslashes as syntax, so a value holding any of
        those is set by a ``SET VARIABLE`` of its own."""
        names = list(values)
        texts = [str(values[name]) for name in names]
        if len(names) > 1 and not _ARRAY_SYNTAX.search("".join(texts)):
            await self.set_variable(f"ARRAY({','.join(names)})", ",".join(texts))
            return
        for name, text in zip(names, texts):
            await self.set_variable(name, text)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self._execute("VERBOSE", quote_argument(message), str(int(level)))

    async def exec(self, application: str, arguments: str | Sequence[str] = "",
                   *, timeout: float | None = None) -> int:
        """Run a dialplan application; returns its result (-2: no such application).
        A sequence of arguments is joined with commas, the dialplan's separator."""
        if not isinstance(arguments, str):
            arguments = ",".join(arguments)
        reply = await self._execute("EXEC", format_argument(application), quote_argument(arguments),
                                    timeout=timeout)
        assert reply.result is not None  # a 200 reply always carries result=N
        return reply.result

    async def noop(self) -> None:
        await self._execute("NOOP")

    async def _execute(self, command: str, *formatted: str, timeout: float | None = None) -> AGIReply:
        line = encode_command(command, *formatted, max_line_bytes=self.connection.max_line_bytes)
        return await self.connection.execute(line, timeout=timeout)

    # ------------------------------------------------------------------ blocking work

    async def run_blocking(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking code (database work) on the server's bounded thread pool."""
        call = functools.partial(function, *args, **kwargs)
        if self._run_blocking is None:
            return await asyncio.get_running_loop().run_in_executor(None, call)
        return await self._run_blocking(call)
