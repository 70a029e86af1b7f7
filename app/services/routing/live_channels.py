"""Asterisk's live channels: the evidence that decides whether a call can still be answered.

A dialling slot whose call Asterisk still has is never expired, however late its Dial (an
Asterisk far behind may start a Dial long after its `route`); a call Asterisk no longer has
is ended and frees every slot (`reconcile`). The ids come from `core show channels concise`
(`channel!context!…!uniqueid!…`, the uniqueid is the 14th field) or one plain id a line.
"""
import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

# An async callable answering the live channel ids, or None when they cannot be known now.
LiveChannels = Callable[[], Awaitable[list[str] | None]]


def channel_ids(lines: Iterable[str]) -> list[str]:
    """The uniqueids in `core show channels concise` output, or plain ids, one a line."""
    ids = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        fields = line.split("!")
        ids.append(fields[13] if len(fields) > 13 else fields[0])
    return ids


class CommandSource:
    """Runs a shell command that prints Asterisk's live channels, e.g.
    `asterisk -rx "core show channels concise"` (or over ssh, or for several boxes at once).
    A command that fails or does not finish in time says nothing (None), never "no channels":
    only a successful, empty listing means Asterisk has no call."""

    def __init__(self, command: str, timeout: float = 10.0):
        self.command, self.timeout = command, timeout

    async def __call__(self) -> list[str] | None:
        process = await asyncio.create_subprocess_shell(
            self.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("live channels: %r did not answer within %.0f s", self.command, self.timeout)
            return None
        if process.returncode != 0:
            log.warning("live channels: %r exited with %s: %s", self.command, process.returncode,
                        err.decode(errors="replace").strip()[:200])
            return None
        return channel_ids(out.decode(errors="replace").splitlines())
